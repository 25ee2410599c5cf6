import type { FeedTensor } from '../tensor';
import { allocTyped, type FeedData, type FeedType } from './dtype';

/**
 * Concatenate arrays on dim 0 (their other dims agree). A single array is passed through
 * without a copy; otherwise one allocation of the batch and one `set` per sample.
 */
export function stackOnDim0(type: FeedType, datas: readonly FeedData[], dims: readonly (readonly number[])[]): FeedTensor {
  const rows = dims.reduce((a, d) => a + d[0]!, 0);
  const outDims = [rows, ...dims[0]!.slice(1)];
  if (datas.length === 1) return { type, data: datas[0]!, dims: outDims };
  const total = datas.reduce((a, d) => a + d.length, 0);
  const out = allocTyped(type, total) as FeedData;
  let off = 0;
  for (const d of datas) {
    (out as Float32Array).set(d as Float32Array, off);
    off += d.length;
  }
  return { type, data: out, dims: outDims };
}

/** Key of a sample's shapes without the batch dim: samples with equal keys can be stacked. */
export function shapeKey(dims: Record<string, number[]>, names: readonly string[]): string {
  return names.map((n) => dims[n]!.slice(1).join('x')).join(';');
}
