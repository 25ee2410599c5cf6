import { histogramKernels } from '@qcal/kernels';
import { linspaceEdges32 } from './numpy-histogram';

// Globals bound once: in a vm context (jest) each global lookup in a hot loop costs ~300 ns.
const { fround: F, floor: M_floor, trunc: M_trunc } = Math;
const INF = Infinity;

/**
 * tpu-mlir's KLD histogram of |x| (`cali_math.py` `histogram` / `combine_histogram`, NumPy 2
 * semantics: the running abs-max is a float32 scalar, so every width and step is float32).
 * Bin k is centred on k·width; `th` is the abs-max the grid was made for (after growth:
 * `half·old_step + old_th`), `width = th/(len−1)` in float32.
 */
export interface TpuMlirHistogram {
  counts: Float64Array;
  /** float32 abs-max of the grid (tpu-mlir's `old_th`). */
  th: number;
  /** float32 bin width th/(len−1) (tpu-mlir's `histogram_width_map`). */
  width: number;
  /** np.histogram's float32 edges for range (0, len−1) (cached; depends only on the length). */
  edges: Float32Array;
}

/** tpu-mlir skips a sample for the histogram when its max |x| is below this (its min/max still count). */
export const TPUMLIR_SKIP_ABS = 1e-8;
/** Above this many bins a growing histogram is discarded and restarted from the new batch. */
export const TPUMLIR_MAX_BINS = 8_000_000;

/**
 * NumPy's float32 `a // b` (`npy_divmodf`, the same fmod-based rule as CPython's float floor
 * division, each step rounded to float32).
 */
export function floorDivF32(a: number, b: number): number {
  let mod = F(a % b);
  let div = F(F(a - mod) / b);
  if (mod !== 0) {
    if (b < 0 !== mod < 0) { mod = F(mod + b); div = F(div - 1); }
  }
  if (div === 0) return div;
  let fd = M_floor(div);
  if (F(div - fd) > 0.5) fd += 1;
  return fd;
}

/**
 * `cali_math.histogram` added into `h.counts` (length n) on its grid: |x| with exact zeros (and
 * NaN/±Infinity) left out, k = floor(f32(f32(|x|/width) + 0.5)), then `np.histogram(k, n,
 * range=(0, n−1))` with NumPy's float32 edges (for n > 4096 these round onto the integers, so
 * the top integer(s) land one bin higher, as in tpu-mlir). Values with k outside [0, n−1] are
 * dropped (np.histogram's range).
 */
export function tpumlirHistogramInto(counts: Float64Array, edges: Float32Array, width: number, data: Float32Array): void {
  // In WebAssembly (@qcal/kernels tpumlirFill: the same float32 steps, the same bins) when built and
  // the batch pays for handing the counts over.
  const k = data.length >= 1024 + (counts.length >> 2) && counts.length < 2 ** 24 ? histogramKernels() : null;
  if (k) k.tpumlirFill(counts, edges, width, data);
  else tpumlirHistogramIntoJs(counts, edges, width, data);
}

/** {@link tpumlirHistogramInto} in JavaScript: the reference of the WebAssembly kernel, and its fallback. */
export function tpumlirHistogramIntoJs(counts: Float64Array, edges: Float32Array, width: number, data: Float32Array): void {
  const n = counts.length;
  const last = n - 1;
  const len = data.length;
  for (let i = 0; i < len; i++) {
    const v = data[i]!;
    const a = v < 0 ? -v : v;
    if (!(a > 0 && a < INF)) continue; // zeros, NaN, ±Infinity
    let k = M_floor(F(F(a / width) + 0.5));
    if (k > last) continue; // outside np.histogram's range
    // np.histogram puts the integer k in bin k unless the float32 edge k+1 (= f32((k+1)(n−1)/n))
    // rounded down onto k; edge k never exceeds k, and edge k+2 is at least k+1.
    if (k !== last && k >= edges[k + 1]!) k++;
    counts[k] = counts[k]! + 1;
  }
}

/** The first histogram: `numBins` bins, width f32(absValue/(numBins−1)). `absValue` is float32. */
export function tpumlirHistogram(data: Float32Array, absValue: number, numBins: number): TpuMlirHistogram {
  const counts = new Float64Array(numBins);
  const width = F(absValue / (numBins - 1));
  const edges = linspaceEdges32(0, numBins - 1, numBins);
  tpumlirHistogramInto(counts, edges, width, data);
  return { counts, th: absValue, width, edges };
}

/**
 * `combine_histogram`: adds a batch whose running (cumulative, float32) abs-max is `absValue`.
 * - absValue ≤ th: binned on the current grid and added.
 * - else: old_step = f32(th/len) (tpu-mlir's quirk, not th/(len−1)), half = int(f32((absValue−th)
 *   // old_step) + 1), the grid grows to len+half bins with th' = f32(half·old_step + th) and width
 *   f32(th'/(len+half−1)); only the new batch is binned with it and the old counts are added
 *   index-wise (bins aligned at zero, widths slightly different, as upstream).
 * - if len+half > `maxBins` (8e6) the old counts are discarded: a fresh `numBins` histogram of the
 *   batch over absValue.
 * Returns the (possibly new) histogram; `h` may be modified.
 */
export function addToTpumlirHistogram(h: TpuMlirHistogram, data: Float32Array, absValue: number, numBins: number, maxBins = TPUMLIR_MAX_BINS): TpuMlirHistogram {
  if (absValue <= h.th) {
    tpumlirHistogramInto(h.counts, h.edges, h.width, data);
    return h;
  }
  const oldLen = h.counts.length;
  const step = F(h.th / oldLen);
  const half = M_trunc(F(floorDivF32(F(absValue - h.th), step) + 1));
  const newLen = oldLen + half;
  if (newLen > maxBins) return tpumlirHistogram(data, absValue, numBins);
  const th = F(F(half * step) + h.th);
  const grown = tpumlirHistogram(data, th, newLen);
  const c = grown.counts;
  const old = h.counts;
  for (let j = 0; j < oldLen; j++) c[j] = c[j]! + old[j]!;
  return grown;
}
