import * as ort from 'onnxruntime-node';
import { DataType, encodeModel, makeFloatTensor, type OnnxModel } from '../../../src/onnx/model';
import { makeNode } from '../../../src/onnx/graph-builder';
import { buildQdqModel } from '../../../src/qdq/build-qdq';
import { applyBiasCorrection, measureBiasCorrection } from '../../../src/qdq/passes/bias-correction';
import { findBiasSites } from '../../../src/qdq/passes/bias-sites';
import { buildQdqModelWithPasses, PASSES_METADATA_KEY } from '../../../src/qdq/passes/pipeline';
import type { CalibrationTable } from '../../../src/table';
import type { FeedTensor } from '../../../src/tensor';

const f = (dims: number[]) => ({ tensorType: { elemType: DataType.FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } });

/**
 * x[1,2,2,2] → Conv 1×1 (2 → 2 channels) → y (graph output). Channel weights [1.0, 0.01] and
 * [0.5, 0.02]: with 7-bit weights (scale max|w|/64) the small weights round to 1 step = 1/64 and
 * 0.5/64: 0.01 → 0.015625 (+0.005625), 0.02 → 0.0234375 (+0.0034375); 1.0 and 0.5 are exact.
 * With x = 2 everywhere (exact in uint8 over [0, 2]) the output shift per channel is
 * 2·0.005625 = 0.01125 and 2·0.0034375 = 0.006875: what bias correction must remove.
 */
function convModel(): OnnxModel {
  return {
    irVersion: 8, opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'g', input: [{ name: 'x', type: f([1, 2, 2, 2]) }], output: [{ name: 'y', type: f([1, 2, 2, 2]) }], valueInfo: [],
      initializer: [makeFloatTensor('w', [2, 2, 1, 1], [1.0, 0.01, 0.5, 0.02]), makeFloatTensor('b', [2], [0.1, -0.2])],
      node: [makeNode('Conv', ['x', 'w', 'b'], ['y'], 'conv')],
    },
  } as unknown as OnnxModel;
}
const table: CalibrationTable = { collector: 't', options: {}, tensors: { x: { min: 0, max: 2 }, y: { min: -4, max: 4 } } };
const feed = (v: number): Record<string, FeedTensor> => ({ x: { type: 'float32', data: new Float32Array(8).fill(v), dims: [1, 2, 2, 2] } });

async function run(m: OnnxModel, x: Record<string, FeedTensor>): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(encodeModel(m));
  const r = await s.run({ x: new ort.Tensor('float32', x.x!.data as Float32Array, [...x.x!.dims]) });
  await s.release();
  return r.y!.data as Float32Array;
}

describe('bias correction', () => {
  it('finds Conv, Gemm and MatMul+Add bias sites', () => {
    const m = convModel();
    expect(findBiasSites(m)).toEqual([expect.objectContaining({ opType: 'Conv', output: 'y', bias: 'b', channels: 2 })]);
    const lin = { ...m, graph: { ...m.graph!, initializer: [makeFloatTensor('B', [3, 4], new Array(12).fill(0.1)), makeFloatTensor('c', [4], [1, 2, 3, 4])],
      node: [makeNode('MatMul', ['x', 'B'], ['t'], 'mm'), makeNode('Add', ['t', 'c'], ['y'], 'add')] } } as OnnxModel;
    expect(findBiasSites(lin)).toEqual([expect.objectContaining({ opType: 'MatMul+Add', output: 'y', bias: 'c', biasInput: 1, channels: 4, layout: { kind: 'last' } })]);
  });

  it('removes the hand-worked output shift of rounded weights', async () => {
    const m = convModel();
    const fp = await run(m, feed(2));
    const plain = await run(buildQdqModel(m, table).model, feed(2));
    // Before: the shifts worked out above (channel-major output: 4 values per channel).
    expect(plain[0]! - fp[0]!).toBeCloseTo(0.01125, 4);
    expect(plain[4]! - fp[4]!).toBeCloseTo(0.006875, 4);
    const bc = await measureBiasCorrection(m, table, {}, [feed(2)], { iterations: 1 });
    expect(bc.sites[0]!.maxAbsShift).toBeCloseTo(0.01125, 4);
    expect(Array.from(bc.biases.get('y')!)).toEqual([expect.closeTo(0.1 - 0.01125, 4), expect.closeTo(-0.2 - 0.006875, 4)]);
    const corrected = await run(buildQdqModel(m, table, { rewrite: (w) => applyBiasCorrection(w, bc.biases) }).model, feed(2));
    // After: only the int32 rounding of the bias remains (bias scale (2/255)·(1/64) ≈ 1.2e-4).
    for (let i = 0; i < 8; i++) expect(Math.abs(corrected[i]! - fp[i]!)).toBeLessThan(1.3e-4);
  });

  it('the pipeline records what it applied in the report and the model metadata', async () => {
    const r = await buildQdqModelWithPasses(convModel(), table, { biasCorrection: true, calibration: [feed(2), feed(1)] });
    expect(r.report.passes).toEqual([{ name: 'bias-correction', summary: expect.objectContaining({ layers: 1, samples: 2, iterations: 1 }) }]);
    expect(JSON.parse(r.model.metadataProps!.find((p) => p.key === PASSES_METADATA_KEY)!.value!)).toEqual(r.report.passes);
    await expect(buildQdqModelWithPasses(convModel(), table, { biasCorrection: true })).rejects.toThrow(/calibration samples/);
  });
});
