import { histogramKernels } from '@qcal/kernels';
import { f32, OVERFLOW_LIMIT } from './float32';

const LIM = OVERFLOW_LIMIT;

/** Float32 rounding through a typed-array store (no Math.fround call: V8 does not inline builtins across contexts, e.g. under jest). */
const F = new Float32Array(2);

/**
 * Adds `delta` to the torch.histc bin of each value of `data[from..to)` over the (non-degenerate)
 * range [lo, hi] with `range = f32(hi − lo)`, stopping at the first value outside [lo, hi] (or NaN);
 * returns where it stopped (`to` when done).
 *
 * torch's bin is `trunc(f32(f32(x − lo)·n / range))` (two float32 roundings). The loop computes
 * `q = (x − lo)·(n / range)` in float64 instead, which differs from the float32 quotient by less
 * than `q·2^-23`; so when q lies farther than `n·2^-22` from every integer, `trunc(q)` is torch's
 * bin, and only the values that close to a bin edge (≈ 2·n·2^-22 of them, 0.2 % at 4096 bins)
 * take the float32 path. Ranges below 2^-100 (where `x − lo` could be a float32 subnormal) or that
 * overflow float32 always take it.
 */
export function histcRun(counts: Float64Array, data: Float32Array, from: number, to: number, lo: number, hi: number, range: number, delta: number): number {
  const nbins = counts.length;
  const last = nbins - 1;
  const s = nbins / range;
  const t = range >= 2 ** -100 && range < Infinity ? nbins * 2 ** -22 : 2; // 2: always the float32 path
  const t1 = 1 - t;
  let i = from;
  for (; i < to; i++) {
    const x = data[i]!;
    if (!(x >= lo && x <= hi)) break;
    const q = (x - lo) * s;
    let b = q | 0;
    const r = q - b;
    if (r < t || r > t1) {
      F[0] = x - lo;
      F[1] = (F[0]! * nbins) / range; // nbins is a power of two: the product is exact
      b = F[1]! | 0;
    }
    if (b > last) b = last;
    counts[b]! += delta;
  }
  return i;
}

/**
 * {@link histcRun} (delta 1 or −1), in WebAssembly (@qcal/kernels, the same bins) when the module is
 * built and the run is long enough to pay for handing the counts over; in JavaScript otherwise.
 */
export function histcRunFast(counts: Float64Array, data: Float32Array, from: number, to: number, lo: number, hi: number, range: number, delta = 1): number {
  const k = to - from >= 1024 + (counts.length >> 2) && range <= 2 ** 110 && f32(lo) === lo && f32(hi) === hi ? histogramKernels() : null;
  return k ? k.histc(counts, data, from, to, lo, hi, range, delta) : histcRun(counts, data, from, to, lo, hi, range, delta);
}

/**
 * `torch.histc(x, nbins, min=lo, max=hi)` on CPU, as AMCT's HFMG calls it: the bin of x is
 * `trunc(f32(f32(f32(x − lo)·nbins) / f32(hi − lo)))`, x = hi goes to the last bin, values outside
 * [lo, hi] (and NaN) are not counted, and a degenerate range lo == hi becomes (lo − 1, hi + 1)
 * (ALGORITHMS.md, Corrections item 8). Adds into `counts`; `nbins` must be a power of two.
 * Computed by {@link histcRunFast} (float64 with an exact float32 fallback near bin edges).
 */
export function histcInto(counts: Float64Array, data: Float32Array, lo: number, hi: number): void {
  if (lo === hi) { lo = f32(lo - 1); hi = f32(hi + 1); }
  const range = f32(hi - lo);
  const n = data.length;
  let i = 0;
  while (i < n) {
    i = histcRunFast(counts, data, i, n, lo, hi, range);
    i++; // a value outside [lo, hi]: not counted
  }
}

/**
 * Finite min and max of `data` and how many values are NaN / ±Infinity; values with
 * |x| >= {@link OVERFLOW_LIMIT} count as infinite (overflowed) and are left out of the range too.
 */
export function finiteRange(data: Float32Array): { min: number; max: number; nan: number; inf: number } {
  const k = data.length >= 256 ? histogramKernels() : null;
  return k ? k.finiteRange(data) : finiteRangeJs(data);
}

/** {@link finiteRange} in JavaScript: the reference of the WebAssembly kernel, and its fallback. */
export function finiteRangeJs(data: Float32Array): { min: number; max: number; nan: number; inf: number } {
  let min = Infinity;
  let max = -Infinity;
  let bad = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
    if (v - v !== 0) bad++;
  }
  if (!bad && min > -LIM && max < LIM) return { min, max, nan: 0, inf: 0 };
  let nan = 0;
  let inf = 0;
  min = Infinity;
  max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v !== v) { nan++; continue; }
    if (v >= LIM || v <= -LIM) { inf++; continue; }
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max, nan, inf };
}
