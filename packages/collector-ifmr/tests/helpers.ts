import { mulberry32 } from '@qcal/plugin-kit';
import type { IfmrParams } from '@qcal/collector-ifmr';

/** Golden params (AMCT names) → kernel params. */
export function paramsOf(gp: any): IfmrParams {
  return {
    numBits: gp.num_bits, withOffset: gp.with_offset, maxPercentile: gp.max_percentile, minPercentile: gp.min_percentile,
    searchStart: gp.search_start, searchEnd: gp.search_end, searchStep: gp.search_step,
  };
}

/** Golden params → collector options. */
export function optionsOf(gp: any, mode: 'exact' | 'histogram'): Record<string, unknown> {
  return {
    mode, batchNum: gp.batch_num, withOffset: gp.with_offset, numBits: gp.num_bits, maxPercentile: gp.max_percentile,
    minPercentile: gp.min_percentile, searchRange: [gp.search_start, gp.search_end], searchStep: gp.search_step,
  };
}

export function concat(batches: Float32Array[]): Float32Array {
  const out = new Float32Array(batches.reduce((s, b) => s + b.length, 0));
  let o = 0;
  for (const b of batches) { out.set(b, o); o += b.length; }
  return out;
}

/** Deterministic pseudo-random numbers (mulberry32) and a normal sample via Box-Muller. */
export const rng = mulberry32;

export function normal(n: number, seed: number, sd = 1, mean = 0): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = mean + sd * Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  return out;
}
