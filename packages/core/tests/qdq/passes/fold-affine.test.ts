import * as ort from 'onnxruntime-node';
import { DataType, encodeModel, makeFloatTensor, type OnnxModel, type OnnxNode } from '../../../src/onnx/model';
import { makeNode } from '../../../src/onnx/graph-builder';
import { Constants } from '../../../src/qdq/constants';
import { foldConvAffine } from '../../../src/qdq/fold-affine';
import { buildQdqModel } from '../../../src/qdq/build-qdq';

const f = (dims: number[]) => ({ tensorType: { elemType: DataType.FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } });

/** x[1,1,2,2] → Conv 1×1 (1 → 2 channels, w [1, −2], b [0.5, 0.25]) → Mul 3 → Add [[[1]],[[−1]]] → `after`. */
function convAffine(after: OnnxNode[] = [], outputs = ['z'], k = makeFloatTensor('k', [2, 1, 1], [1, -1])): OnnxModel {
  return {
    irVersion: 8, opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'g', input: [{ name: 'x', type: f([1, 1, 2, 2]) }], output: outputs.map((name) => ({ name, type: f([1, 2, 2, 2]) })), valueInfo: [],
      initializer: [makeFloatTensor('w', [2, 1, 1, 1], [1, -2]), makeFloatTensor('b', [2], [0.5, 0.25]), makeFloatTensor('s', [], [3]), k],
      node: [makeNode('Conv', ['x', 'w', 'b'], ['y'], 'conv'), makeNode('Mul', ['s', 'y'], ['t'], 'mul'), makeNode('Add', ['t', 'k'], ['z'], 'add'), ...after],
    },
  } as unknown as OnnxModel;
}

async function run(m: OnnxModel, out = 'z'): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(encodeModel(m));
  const r = await s.run({ x: new ort.Tensor('float32', Float32Array.from([1, -1, 0.5, 2]), [1, 1, 2, 2]) });
  await s.release();
  return r[out]!.data as Float32Array;
}

describe('foldConvAffine', () => {
  it('folds a scalar Mul and a per-channel Add into the Conv (hand-worked weights, same outputs)', async () => {
    const m = convAffine();
    const r = foldConvAffine(m);
    expect(r.folded.map((x) => [x.op, x.removedTensor, x.output])).toEqual([['Mul', 'y', 't'], ['Add', 't', 'z']]);
    const g = r.model.graph!;
    expect(g.node.map((n) => n.opType)).toEqual(['Conv']);
    const c = new Constants(g);
    // W' = 3·[1, −2]; b' = 3·[0.5, 0.25] + [1, −1].
    expect(Array.from(c.get(g.node[0]!.input[1]!)!.values)).toEqual([3, -6]);
    expect(Array.from(c.get(g.node[0]!.input[2]!)!.values)).toEqual([2.5, -0.25]);
    expect(g.node[0]!.output).toEqual(['z']);
    const a = await run(m), b = await run(r.model);
    for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(a[i]!, 6);
    expect(m.graph!.node).toHaveLength(3); // input untouched
  });

  it('leaves a Conv whose output is read twice, is a graph output, or meets a per-pixel constant', () => {
    expect(foldConvAffine(convAffine([makeNode('Relu', ['y'], ['r'], 'relu')], ['z', 'r'])).folded).toEqual([]);
    expect(foldConvAffine(convAffine([], ['z', 'y'])).folded).toEqual([]);
    // k of shape [1, 2, 2, 2] varies over pixels: only the Mul folds.
    const r = foldConvAffine(convAffine([], ['z'], makeFloatTensor('k', [1, 2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8])));
    expect(r.folded.map((x) => x.op)).toEqual(['Mul']);
  });

  it('the QDQ writer folds by default (the removed tensors are reported) and not with foldAffine: false', () => {
    const table = { collector: 't', options: {}, tensors: { x: { min: -1, max: 2 }, y: { min: -4, max: 4 }, t: { min: -12, max: 12 }, z: { min: -12, max: 12 } } };
    const on = buildQdqModel(convAffine(), table);
    expect(on.report.foldedBatchNorms.map((x) => x.op)).toEqual(['Mul', 'Add']);
    expect(on.report.skipped.map((s) => s.name).sort()).toEqual(['t', 'y']);
    expect(on.model.graph!.node.filter((n) => n.opType === 'QuantizeLinear')).toHaveLength(2); // x and z: t and y are gone
    const off = buildQdqModel(convAffine(), table, { foldAffine: false });
    expect(off.report.foldedBatchNorms).toEqual([]);
    expect(off.model.graph!.node.filter((n) => n.opType === 'Mul' || n.opType === 'Add')).toHaveLength(2);
  });
});
