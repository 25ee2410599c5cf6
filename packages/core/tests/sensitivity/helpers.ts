import * as ort from 'onnxruntime-node';
import { DataType, encodeModel, makeFloatTensor, type OnnxModel } from '../../src/onnx/model';
import { makeNode } from '../../src/onnx/graph-builder';
import type { CalibrationTable } from '../../src/table';
import type { FeedTensor } from '../../src/tensor';

/** Seeded uniform [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 4294967296; };
}
const normal = (r: () => number): number => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());

const fvi = (name: string, dims: number[]) => ({ name, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });

/**
 * x[1,16] → MatMul W1 → h1 → Relu → r1 → MatMul W2 → t2 → MatMul W3 → y[1,4].
 * t2 is sensitive by construction: W2's column 0 is 1000× the others, so t2's range is set by an
 * outlier channel, while W3 ignores that channel and reads only the small ones (precision-critical).
 */
export function sensitiveModel(): { model: OnnxModel; sensitive: string } {
  const r = rng(7);
  const w1 = Array.from({ length: 256 }, () => normal(r) * 0.3);
  const w2 = Array.from({ length: 256 }, (_, i) => normal(r) * 0.3 * (i % 16 === 0 ? 1000 : 1));
  const w3 = Array.from({ length: 64 }, (_, i) => (i < 4 ? 0 : normal(r) * 0.3));
  const model: OnnxModel = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'qcal-test',
    graph: {
      name: 'sensitive',
      node: [
        makeNode('MatMul', ['x', 'W1'], ['h1'], 'mm1'),
        makeNode('Relu', ['h1'], ['r1'], 'relu1'),
        makeNode('MatMul', ['r1', 'W2'], ['t2'], 'mm2'),
        makeNode('MatMul', ['t2', 'W3'], ['y'], 'mm3'),
      ],
      initializer: [makeFloatTensor('W1', [16, 16], w1), makeFloatTensor('W2', [16, 16], w2), makeFloatTensor('W3', [16, 4], w3)],
      input: [fvi('x', [1, 16])],
      output: [fvi('y', [1, 4])],
      valueInfo: [],
    },
  };
  return { model, sensitive: 't2' };
}

export function samples(n: number, seed = 1): Record<string, FeedTensor>[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => ({ x: { type: 'float32' as const, data: Float32Array.from({ length: 16 }, () => normal(r)), dims: [1, 16] } }));
}

/** A min/max table of every float activation over `feeds` (FP32 run with the tensors exposed). */
export async function minMaxTable(model: OnnxModel, feeds: Record<string, FeedTensor>[], names: string[]): Promise<CalibrationTable> {
  const exposed: OnnxModel = { ...model, graph: { ...model.graph!, output: [...model.graph!.output.filter((o) => !names.includes(o.name)), ...names.map((n) => ({ name: n, type: { tensorType: { elemType: 1 } } }))] } };
  const s = await ort.InferenceSession.create(encodeModel(exposed));
  const tensors: CalibrationTable['tensors'] = {};
  for (const f of feeds) {
    const out = await s.run({ x: new ort.Tensor('float32', f.x!.data as Float32Array, [...f.x!.dims]) });
    for (const n of names) {
      const d = out[n]!.data as Float32Array;
      const e = (tensors[n] ??= { op: n, min: Infinity, max: -Infinity });
      for (const v of d) { if (v < e.min) e.min = v; if (v > e.max) e.max = v; }
    }
  }
  await s.release();
  return { collector: 'minmax', options: {}, model: 'sensitive.onnx', samples: feeds.length, tensors };
}
