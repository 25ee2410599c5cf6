import { f32 } from './float32';

/**
 * `torch.histc(x, nbins, min=lo, max=hi)` on CPU, as AMCT's HFMG calls it: the bin of x is
 * `trunc(f32(f32(f32(x − lo)·nbins) / f32(hi − lo)))`, x = hi goes to the last bin, values outside
 * [lo, hi] are not counted, and a degenerate range lo == hi becomes (lo − 1, hi + 1)
 * (ALGORITHMS.md, Corrections item 8). Adds into `counts`. `data` must hold finite values only
 * (the collector drops NaN/±Infinity before). Two float32 roundings per value; `nbins` is a power
 * of two, so the product is exact.
 */
export function histcInto(counts: Float64Array, data: Float32Array, lo: number, hi: number): void {
  const nbins = counts.length;
  if (lo === hi) { lo = f32(lo - 1); hi = f32(hi + 1); }
  const range = f32(hi - lo);
  const last = nbins - 1;
  // Float32 rounding through a typed-array store (no Math.fround call in the loop; V8 does not
  // inline builtins across contexts, e.g. under jest). nbins is a power of two: the product is exact.
  const F = new Float32Array(2);
  for (let i = 0; i < data.length; i++) {
    const x = data[i]!;
    if (x < lo || x > hi) continue;
    F[0] = x - lo;
    F[1] = (F[0]! * nbins) / range;
    let b = F[1]! | 0;
    if (b > last) b = last;
    counts[b]! += 1;
  }
}

/** Finite min and max of `data` and how many values are NaN / ±Infinity. */
export function finiteRange(data: Float32Array): { min: number; max: number; nan: number; inf: number } {
  let min = Infinity;
  let max = -Infinity;
  let bad = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
    if (v - v !== 0) bad++;
  }
  if (!bad) return { min, max, nan: 0, inf: 0 };
  let nan = 0;
  let inf = 0;
  min = Infinity;
  max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v !== v) { nan++; continue; }
    if (v === Infinity || v === -Infinity) { inf++; continue; }
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max, nan, inf };
}
