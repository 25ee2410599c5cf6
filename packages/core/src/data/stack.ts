import type { FeedTensor } from '../tensor';
import { allocTyped, type FeedData, type FeedType } from './dtype';

/**
 * Concatenate arrays on `axis` (their other dims agree). A single array is passed through
 * without a copy; otherwise one allocation of the batch and one `set` per sample and outer index.
 */
export function stackOnAxis(type: FeedType, datas: readonly FeedData[], dims: readonly (readonly number[])[], axis: number | null | undefined = 0): FeedTensor {
  if (axis === null) {
    // No batch axis (a scalar): one sample per batch (openData enforces batchSize 1).
    if (datas.length !== 1) throw new Error(`stackOnAxis: ${datas.length} arrays without a batch axis cannot be stacked`);
    return { type, data: datas[0]!, dims: [...dims[0]!] };
  }
  const rows = dims.reduce((a, d) => a + d[axis]!, 0);
  const first = dims[0]!;
  const outDims = [...first.slice(0, axis), rows, ...first.slice(axis + 1)];
  if (datas.length === 1) return { type, data: datas[0]!, dims: outDims };
  const total = datas.reduce((a, d) => a + d.length, 0);
  const out = allocTyped(type, total) as FeedData;
  const outer = first.slice(0, axis).reduce((a, b) => a * b, 1);
  const blocks = datas.map((d) => d.length / outer);
  let off = 0;
  for (let o = 0; o < outer; o++) {
    datas.forEach((d, i) => {
      const b = blocks[i]!;
      (out as Float32Array).set((d as Float32Array).subarray(o * b, (o + 1) * b), off);
      off += b;
    });
  }
  return { type, data: out, dims: outDims };
}

/** Concatenate arrays on dim 0 (their other dims agree). */
export function stackOnDim0(type: FeedType, datas: readonly FeedData[], dims: readonly (readonly number[])[]): FeedTensor {
  return stackOnAxis(type, datas, dims, 0);
}

/**
 * Key of a sample's shapes without the batch dim: samples with equal keys can be stacked. An
 * input without a batch axis keeps all its dims.
 */
export function shapeKey(dims: Record<string, number[]>, names: readonly string[], axes?: Readonly<Record<string, number | null>>): string {
  return names.map((n) => {
    const ax = axes ? axes[n] : 0;
    const d = dims[n]!;
    return (ax === null || ax === undefined ? d : [...d.slice(0, ax), ...d.slice(ax + 1)]).join('x');
  }).join(';');
}
