import * as ort from 'onnxruntime-node';
import { DataType, encodeModel, type OnnxModel, type OnnxNode, type OnnxTensor } from '../../../src/onnx/model';
import type { FeedTensor } from '../../../src/tensor';
import type { CalibrationTable } from '../../../src/table';

export const f32 = (dims: number[]) => ({ tensorType: { elemType: DataType.FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } });

/** A one-input, one-output float model at opset 17. */
export function model(input: [string, number[]], output: [string, number[]], node: OnnxNode[], initializer: OnnxTensor[]): OnnxModel {
  return {
    irVersion: 8, opsetImport: [{ domain: '', version: 17 }],
    graph: { name: 'g', input: [{ name: input[0], type: f32(input[1]) }], output: [{ name: output[0], type: f32(output[1]) }], valueInfo: [], initializer, node },
  } as unknown as OnnxModel;
}

/** Seeded LCG in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 4294967296; };
}

export function feed(name: string, dims: number[], values: Float32Array): Record<string, FeedTensor> {
  return { [name]: { type: 'float32', data: values, dims } };
}

/** Runs `m` on each feed; returns every sample's first output concatenated. */
export async function runAll(m: OnnxModel, feeds: readonly Record<string, FeedTensor>[]): Promise<Float32Array[]> {
  const s = await ort.InferenceSession.create(encodeModel(m));
  const out: Float32Array[] = [];
  try {
    for (const f of feeds) {
      const [name, t] = Object.entries(f)[0]!;
      const r = await s.run({ [name]: new ort.Tensor('float32', t.data as Float32Array, [...t.dims]) });
      out.push(Float32Array.from(r[s.outputNames[0]!]!.data as Float32Array));
    }
  } finally { await s.release(); }
  return out;
}

/** Root-mean-square difference over all samples. */
export function rmsDiff(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  let sum = 0, n = 0;
  a.forEach((x, k) => { for (let i = 0; i < x.length; i++) { const d = x[i]! - b[k]![i]!; sum += d * d; n++; } });
  return Math.sqrt(sum / n);
}

/** Largest absolute difference over all samples. */
export function maxDiff(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  let m = 0;
  a.forEach((x, k) => { for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - b[k]![i]!)); });
  return m;
}

/** An independent min/max table: every node output (and the input) exposed, ranges over the feeds, from onnxruntime. */
export async function minmaxTable(m: OnnxModel, feeds: readonly Record<string, FeedTensor>[]): Promise<CalibrationTable> {
  const names = [...m.graph!.input.map((i) => i.name), ...m.graph!.node.flatMap((n) => n.output)];
  const have = new Set(m.graph!.output.map((o) => o.name));
  const exposed = { ...m, graph: { ...m.graph!, output: [...m.graph!.output, ...names.filter((n) => !have.has(n)).map((name) => ({ name, type: { tensorType: { elemType: DataType.FLOAT } } }))] } };
  const s = await ort.InferenceSession.create(encodeModel(exposed));
  const tensors: CalibrationTable['tensors'] = {};
  try {
    for (const f of feeds) {
      const [name, t] = Object.entries(f)[0]!;
      const r = await s.run({ [name]: new ort.Tensor('float32', t.data as Float32Array, [...t.dims]) });
      for (const n of names) {
        const d = (n === name ? t.data : r[n]!.data) as Float32Array;
        let lo = Infinity, hi = -Infinity;
        for (let i = 0; i < d.length; i++) { lo = Math.min(lo, d[i]!); hi = Math.max(hi, d[i]!); }
        const e = (tensors[n] ??= { min: lo, max: hi });
        e.min = Math.min(e.min, lo); e.max = Math.max(e.max, hi);
      }
    }
  } finally { await s.release(); }
  return { collector: 'minmax', options: {}, tensors };
}
