import * as ort from 'onnxruntime-node';
import { DataType, encodeModel, makeFloatTensor, type OnnxModel } from '../../src/onnx/model';
import { makeNode } from '../../src/onnx/graph-builder';
import { buildQdqModel } from '../../src/qdq/build-qdq';
import type { CalibrationTable } from '../../src/table';

const f = (dims: number[]) => ({ tensorType: { elemType: DataType.FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } });
const N = 64;

/** x[1,1,1,N] → Conv 1×1 (w 0.5, b 100) → y: a large bias, as int32 it would need scale x·w. */
function conv(): OnnxModel {
  return {
    irVersion: 8, opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'g', input: [{ name: 'x', type: f([1, 1, 1, N]) }], output: [{ name: 'y', type: f([1, 1, 1, N]) }], valueInfo: [],
      initializer: [makeFloatTensor('w', [1, 1, 1, 1], [0.5]), makeFloatTensor('b', [1], [100])],
      node: [makeNode('Conv', ['x', 'w', 'b'], ['y'], 'conv')],
    },
  } as unknown as OnnxModel;
}
const table: CalibrationTable = { collector: 't', options: {}, tensors: { x: { min: -1, max: 1 }, y: { min: 99, max: 101 } } };
const xs = Float32Array.from({ length: N }, (_, i) => 0.999 * (-1 + (2 * i) / (N - 1)) + 1e-4);

async function run(m: OnnxModel, out = 'y'): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(encodeModel(m));
  const r = await s.run({ x: new ort.Tensor('float32', xs, [1, 1, 1, N]) });
  await s.release();
  return r[out]!.data as Float32Array;
}

describe('16-bit activations (QdqOptions.int16, table meta.int16)', () => {
  it('writes com.microsoft int16 Q/DQ, keeps the bias float, and onnxruntime runs it 256× finer than uint8', async () => {
    const q8 = buildQdqModel(conv(), table);
    const q16 = buildQdqModel(conv(), table, { int16: ['x'] });
    const x16 = q16.report.tensors.find((t) => t.name === 'x')!;
    // Symmetric: scale = max(|−1|, |1|)/32767, zero point 0.
    expect(x16).toMatchObject({ type: 'int16', zeroPoint: 0, scale: expect.closeTo(1 / 32767, 12) });
    const qNode = q16.model.graph!.node.find((n) => n.opType === 'QuantizeLinear' && n.input[0] === 'x')!;
    expect(qNode.domain).toBe('com.microsoft');
    expect(q16.model.opsetImport).toContainEqual({ domain: 'com.microsoft', version: 1 });
    expect(q16.model.graph!.initializer.find((t) => t.name === qNode.input[2])!.dataType).toBe(DataType.INT16);
    // 16-bit input: the int32 bias would need scale 1/32767·w_scale (100 → ~4e8 steps): it stays float.
    expect(q16.report.weights[0]!.bias).toBeUndefined();
    expect(q8.report.weights[0]!.bias).toBe('b');
    const table16: CalibrationTable = { ...table, meta: { int16: ['x'] } };
    expect(buildQdqModel(conv(), table16).report.tensors.find((t) => t.name === 'x')!.type).toBe('int16');
    // Read x back through its DequantizeLinear: error ≤ half a step (1/65534), vs ≤ 1/255 for uint8.
    const exposed = (m: OnnxModel, dq: string): OnnxModel => ({ ...m, graph: { ...m.graph!, output: [...m.graph!.output, { name: dq, type: f([1, 1, 1, N]) }] } } as OnnxModel);
    const d16 = await run(exposed(q16.model, q16.report.dequantized.x!), q16.report.dequantized.x!);
    const d8 = await run(exposed(q8.model, q8.report.dequantized.x!), q8.report.dequantized.x!);
    const maxErr = (d: Float32Array): number => Math.max(...Array.from(d, (v, i) => Math.abs(v - xs[i]!)));
    expect(maxErr(d16)).toBeLessThanOrEqual(0.5 / 32767 + 1e-7);
    expect(maxErr(d8)).toBeGreaterThan(100 * maxErr(d16));
  });
});
