import { histogramKernels } from '@qcal/kernels';
import { OVERFLOW_LIMIT } from './float32';

/**
 * A mergeable histogram with per-bin value sums, on a power-of-two lattice: bin `j` holds the values
 * in `[(origin + j)·2^exp, (origin + j + 1)·2^exp)`. Two lattices of different widths nest, so
 * re-binning to a coarser width sums whole bins (no proportional split) and merging is exact:
 * counts do not depend on how the data were split into batches or shards. The width is the
 * smallest power of two for which the whole range fits in `bins` bins (and at least
 * 2^(exponent(absmax) − 50), so lattice indices stay exact integers); the window starts at the
 * bin of the minimum. So the data range always spans more than `bins/2 − 1` bins.
 *
 * NaN and ±Infinity are not binned; they are counted (`nan`, `inf`), and so are values with
 * |x| >= 2^100 (`OVERFLOW_LIMIT`, counted as `inf`: overflowed activations).
 */
export interface MomentHistogram {
  readonly bins: number;
  /** log2 of the bin width; null while no finite value has been seen. */
  exp: number | null;
  /** Lattice index of bin 0. */
  origin: number;
  /** Values per bin (float64 so counts can pass 2^32). */
  count: Float64Array;
  /** Sum of the values per bin (float64). */
  sum: Float64Array;
  /** Finite values seen, their sum of squares, min and max. */
  n: number;
  sumSq: number;
  min: number;
  max: number;
  nan: number;
  inf: number;
}

const EXP_MIN = -300;
const LIM = OVERFLOW_LIMIT;

export function createMomentHistogram(bins: number): MomentHistogram {
  return { bins, exp: null, origin: 0, count: new Float64Array(bins), sum: new Float64Array(bins), n: 0, sumSq: 0, min: Infinity, max: -Infinity, nan: 0, inf: 0 };
}

/** Smallest lattice exponent holding [lo, hi] in `bins` bins (deterministic in lo, hi, bins). */
export function latticeExponent(lo: number, hi: number, bins: number): number {
  const absmax = Math.max(Math.abs(lo), Math.abs(hi));
  const floorExp = absmax > 0 ? Math.max(Math.floor(Math.log2(absmax)) - 50, EXP_MIN) : EXP_MIN;
  const range = hi - lo;
  let e = range > 0 ? Math.max(Math.floor(Math.log2(range / bins)) - 1, floorExp) : floorExp;
  for (;;) {
    const inv = 2 ** -e;
    if (Math.floor(hi * inv) - Math.floor(lo * inv) < bins) return e;
    e++;
  }
}

/** Moves the histogram onto lattice `exp` (≥ current) with window starting at `origin`. */
function rebase(h: MomentHistogram, exp: number, origin: number): void {
  if (h.exp === null) { h.exp = exp; h.origin = origin; return; }
  if (h.exp === exp && h.origin === origin) return;
  const shift = 2 ** (exp - h.exp);
  const count = new Float64Array(h.bins);
  const sum = new Float64Array(h.bins);
  for (let j = 0; j < h.bins; j++) {
    const c = h.count[j]!;
    if (c === 0) continue;
    const k = Math.floor((h.origin + j) / shift) - origin;
    count[k]! += c;
    sum[k]! += h.sum[j]!;
  }
  h.count = count;
  h.sum = sum;
  h.exp = exp;
  h.origin = origin;
}

function cover(h: MomentHistogram, lo: number, hi: number): void {
  const exp = Math.max(h.exp ?? EXP_MIN, latticeExponent(lo, hi, h.bins));
  rebase(h, exp, Math.floor(lo * 2 ** -exp));
}

/**
 * Bins `data[from..]` into the current window until a value falls outside it (or is not finite).
 * Returns the index where it stopped (`data.length` when done). Counts are added to the float64
 * counts one by one (exact: integers below 2^53), with no pass over all bins afterwards.
 */
function binRun(h: MomentHistogram, data: Float32Array, from: number): number {
  const inv = 2 ** -h.exp!;
  const o = h.origin;
  // The window, cut at the overflow limit: x = v·inv − o is exact, so x < top ⟺ v < LIM (and
  // likewise below) wherever the limit is near the window.
  const top = Math.min(h.bins, LIM * inv - o);
  const bottom = -LIM * inv - o;
  // In WebAssembly (@qcal/kernels: the same lattice positions, and the sums added in the same
  // order) when built and the run pays for handing the counts and sums over.
  const k = data.length - from >= 1024 + (h.bins >> 1) ? histogramKernels() : null;
  if (k) {
    const tally = { ss: h.sumSq, lo: h.min, hi: h.max };
    const i = k.moment(h.count, h.sum, data, from, inv, o, top, bottom, tally);
    h.sumSq = tally.ss;
    h.min = tally.lo;
    h.max = tally.hi;
    h.n += i - from;
    return i;
  }
  return binRunJs(h, data, from, inv, o, top, bottom);
}

/** {@link binRun} in JavaScript: the reference of the WebAssembly kernel, and its fallback. */
function binRunJs(h: MomentHistogram, data: Float32Array, from: number, inv: number, o: number, top: number, bottom: number): number {
  const count = h.count;
  const sum = h.sum;
  let ss = 0;
  let lo = h.min;
  let hi = h.max;
  let i = from;
  const n = data.length;
  for (; i < n; i++) {
    const v = data[i]!;
    const x = v * inv - o; // exact: power-of-two scaling, integer shift
    if (!(x >= 0 && x < top && x > bottom)) break; // outside the window, NaN, ±Infinity or overflowed
    const j = x | 0;
    count[j]!++;
    sum[j]! += v;
    ss += v * v;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  h.min = lo;
  h.max = hi;
  h.sumSq += ss;
  h.n += i - from;
  return i;
}

/** Finite min/max of data[from..], counting NaN and ±Infinity (|x| >= {@link OVERFLOW_LIMIT} counts as infinite). */
function finiteRange(data: Float32Array, from: number): { lo: number; hi: number; nan: number; inf: number } {
  const k = data.length - from >= 256 ? histogramKernels() : null;
  if (k) {
    // The same split in WebAssembly (@qcal/kernels, collector-hfmg's finiteRange twin).
    const r = k.finiteRange(data.subarray(from));
    return { lo: r.min, hi: r.max, nan: r.nan, inf: r.inf };
  }
  let lo = Infinity;
  let hi = -Infinity;
  let nan = 0;
  let inf = 0;
  for (let i = from; i < data.length; i++) {
    const v = data[i]!;
    if (v !== v) { nan++; continue; }
    if (v >= LIM || v <= -LIM) { inf++; continue; }
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return { lo, hi, nan, inf };
}

/**
 * Adds the finite values of `data`. When the batch stays inside the current window this is a single
 * pass; a value outside it (or the first batch) costs one extra pass over the rest for the range,
 * and the histogram is moved to the lattice that covers it before binning goes on.
 */
export function addToMomentHistogram(h: MomentHistogram, data: Float32Array): void {
  let i = h.exp === null ? 0 : binRun(h, data, 0);
  if (i === data.length) return;
  const r = finiteRange(data, i);
  h.nan += r.nan;
  h.inf += r.inf;
  if (r.lo > r.hi) return; // nothing finite left
  const newMin = Math.min(h.min, r.lo);
  const newMax = Math.max(h.max, r.hi);
  cover(h, newMin, newMax);
  h.min = newMin;
  h.max = newMax;
  // Now every finite value fits: bin the rest, stepping over NaN and ±Infinity.
  while (i < data.length) {
    i = binRun(h, data, i);
    if (i < data.length) i++; // a NaN or ±Infinity (already counted)
  }
}

/**
 * Fast mode: widens the histogram's range to the exact finite extremes [lo, hi] of a tensor of which
 * only a sample was added (the window moves to a lattice that covers them; counts are unchanged).
 * Nothing happens before the first finite value.
 */
export function extendMomentRange(h: MomentHistogram, lo: number, hi: number): void {
  if (h.exp === null) return;
  const newMin = Math.min(h.min, lo);
  const newMax = Math.max(h.max, hi);
  if (newMin === h.min && newMax === h.max) return;
  cover(h, newMin, newMax);
  h.min = newMin;
  h.max = newMax;
}

/** Adds `other` into `h` (same `bins`). Counts merge exactly; sums up to float64 rounding. */
export function mergeMomentHistograms(h: MomentHistogram, other: MomentHistogram): void {
  if (other.bins !== h.bins) throw new Error(`cannot merge histograms of ${other.bins} and ${h.bins} bins`);
  h.nan += other.nan;
  h.inf += other.inf;
  if (other.exp === null) return;
  const newMin = Math.min(h.min, other.min);
  const newMax = Math.max(h.max, other.max);
  const exp = Math.max(h.exp ?? EXP_MIN, other.exp, latticeExponent(newMin, newMax, h.bins));
  const origin = Math.floor(newMin * 2 ** -exp);
  rebase(h, exp, origin);
  const o = { ...other, count: Float64Array.from(other.count), sum: Float64Array.from(other.sum) };
  rebase(o, exp, origin);
  for (let j = 0; j < h.bins; j++) {
    h.count[j]! += o.count[j]!;
    h.sum[j]! += o.sum[j]!;
  }
  h.n += other.n;
  h.sumSq += other.sumSq;
  h.min = newMin;
  h.max = newMax;
}

/** Left edge and width of bin j. */
export function binEdges(h: MomentHistogram, j: number): { left: number; width: number } {
  const width = 2 ** (h.exp ?? 0);
  return { left: (h.origin + j) * width, width };
}

/**
 * The k-th largest (or smallest) value, from the histogram: exact for k = 1 (the tracked max/min),
 * otherwise interpolated linearly inside the bin where the count from that end reaches k (error
 * below one bin width). NaN when empty.
 */
export function histogramKth(h: MomentHistogram, k: number, largest: boolean): number {
  if (h.n === 0) return NaN;
  if (k <= 1) return largest ? h.max : h.min;
  const width = 2 ** (h.exp ?? 0);
  let acc = 0;
  for (let t = 0; t < h.bins; t++) {
    const j = largest ? h.bins - 1 - t : t;
    const c = h.count[j]!;
    if (c === 0) continue;
    if (acc + c >= k) {
      const left = Math.max((h.origin + j) * width, h.min);
      const right = Math.min((h.origin + j + 1) * width, h.max);
      const f = (k - acc - 0.5) / c; // position of the k-th value within the bin, from that end
      const v = largest ? right - f * (right - left) : left + f * (right - left);
      return Math.min(Math.max(v, h.min), h.max);
    }
    acc += c;
  }
  return largest ? h.min : h.max;
}
