import { histogramKernels } from '@qcal/kernels';
import type { FiniteScan } from './finite-scan';

// Globals bound once: in a vm context (jest) each global lookup in a hot loop costs ~300 ns.
const { max: M_max } = Math;
const INF = Infinity;

/**
 * `np.histogram(a, bins=n, range=(lo, hi))` for float32 `a` and float64 (Python float) bounds, as
 * NumPy 2.x computes it: edges are `np.linspace(lo, hi, n + 1)` evaluated in float64 and stored as
 * float32 (the bounds are weakly typed, so the bin dtype is the data's float32); the last bin is
 * closed on the right; a bin index is first estimated arithmetically and then corrected against
 * the float32 edges, so the result depends only on the edges. Any estimate within one bin of the
 * true one gives NumPy's answer, which lets the fill loop multiply instead of divide.
 */

/** The float32 edges NumPy produces for `range=(lo, hi)` and `n` bins (length n + 1). */
export function linspaceEdges32(lo: number, hi: number, n: number): Float32Array {
  const edges = new Float32Array(n + 1);
  const step = (hi - lo) / n;
  // linspace: y = arange(n+1) * step + lo in float64, y[-1] = hi, then cast to float32.
  for (let k = 0; k < n; k++) edges[k] = k * step + lo;
  edges[n] = hi;
  return edges;
}

/**
 * Adds the histogram of the finite values of `data` within `[edges[0], edges[n]]` to `counts`
 * (length n), with NumPy's bin assignment. `edges` must be non-decreasing float32 values from
 * {@link linspaceEdges32}. NaN and ±Infinity are skipped (NaN fails every comparison; infinities
 * fall outside the range), as are values outside the range; the caller counts them.
 * `weight` is added per value (−1 undoes an earlier fill of the same values).
 * @returns the number of values added.
 */
export function histogramInto(counts: Float64Array, edges: Float32Array, data: Float32Array, weight = 1): number {
  const k = weight === 1 && worthWasm(data.length, counts.length) ? histogramKernels() : null;
  return k ? k.numpyFill(counts, edges, data) : histogramIntoJs(counts, edges, data, weight);
}

/**
 * Whether a batch of `len` values pays for handing `bins` counts and edges to the WebAssembly
 * kernels (@qcal/kernels): copying the edges and adding the counts back costs about as much as
 * binning a quarter as many values.
 */
function worthWasm(len: number, bins: number): boolean {
  return len >= 1024 + (bins >> 2);
}

/**
 * {@link histogramInto} in JavaScript: the reference of the WebAssembly kernel (same bins), and its
 * fallback when the module is not built.
 */
export function histogramIntoJs(counts: Float64Array, edges: Float32Array, data: Float32Array, weight = 1): number {
  const n = counts.length;
  const lo = edges[0]!;
  const hi = edges[n]!;
  const last = n - 1;
  const scale = hi > lo ? n / (hi - lo) : 0;
  // A float32 edge sits within half an ulp of |th| (≤ n·2^-24 bins) of its exact position, so an
  // estimate whose fractional part is farther than that from 0 and 1 is already NumPy's bin; only
  // values close to an edge need the comparisons against the edges.
  const delta = n * 2 ** -21 + 1e-9;
  let added = 0;
  const len = data.length;
  for (let i = 0; i < len; i++) {
    const v = data[i]!;
    if (!(v >= lo && v <= hi)) continue; // NaN, ±Inf and out-of-range values
    const f = (v - lo) * scale;
    let k = f | 0;
    const fr = f - k;
    if (fr < delta || fr > 1 - delta || k >= last) {
      if (k > last) k = last;
      // NumPy's correction: one step down if below the bin's left edge, one up if at or past its
      // right edge (except in the last bin, which is closed).
      if (v < edges[k]!) k--;
      else if (k !== last && v >= edges[k + 1]!) k++;
    }
    counts[k] = counts[k]! + weight;
    added++;
  }
  return added;
}

/** {@link scanFinite}'s result from {@link histogramScanInto}, and where it stopped. */
export interface HistogramScan extends FiniteScan {
  /** -1 when every value was handled; else the index of the first finite value outside the range. */
  stoppedAt: number;
}

/**
 * {@link histogramScanIntoJs}, except that when it stops `counts` are left as they were (nothing
 * to undo): in WebAssembly (@qcal/kernels) when built and worth it, else in JavaScript followed by
 * the undo.
 */
export function histogramScanInto(counts: Float64Array, edges: Float32Array, data: Float32Array, limit: number): HistogramScan {
  const k = worthWasm(data.length, counts.length) && limit >= 0 && limit < 2 ** 127 ? histogramKernels() : null;
  if (!k) {
    const r = histogramScanIntoJs(counts, edges, data, limit);
    if (r.stoppedAt >= 0) histogramIntoJs(counts, edges, data.subarray(0, r.stoppedAt), -1);
    return r;
  }
  const r = k.numpyScan(counts, edges, data, limit);
  if (r.stoppedAt >= 0) return { min: r.min, max: r.max, absMax: 0, finite: 0, nan: r.nan, inf: r.inf, stoppedAt: r.stoppedAt };
  const finite = data.length - r.nan - r.inf;
  return { min: r.min, max: r.max, absMax: finite > 0 ? M_max(-r.min, r.max) : 0, finite, nan: r.nan, inf: r.inf, stoppedAt: -1 };
}

/**
 * {@link histogramInto} and {@link scanFinite} in one pass, for a batch expected to fit the grid of
 * a signed histogram over `[-limit, limit]` (float64 `limit`, MXNet's `th`; the test is against it,
 * not the float32 edges, exactly as `combine_histogram` decides on growth): bins the values and
 * tracks min/max/NaN/±Infinity. At the first finite value outside `[-limit, limit]` it stops
 * (`stoppedAt`), leaving the values before it added to `counts`;
 * the caller undoes them (`histogramIntoJs(counts, edges, data.subarray(0, stoppedAt), -1)`) and
 * grows the grid. The JavaScript reference of {@link histogramScanInto}. When it runs through, the scan fields equal `scanFinite(data)`.
 */
export function histogramScanIntoJs(counts: Float64Array, edges: Float32Array, data: Float32Array, limit: number): HistogramScan {
  const n = counts.length;
  const lo = edges[0]!;
  const hi = edges[n]!;
  const last = n - 1;
  const scale = hi > lo ? n / (hi - lo) : 0;
  const delta = n * 2 ** -21 + 1e-9;
  // A float32 in [-limit, limit] is within [edges[0], edges[n]] (the float32 roundings of ∓limit).
  const neg = -limit;
  let min = INF;
  let max = -INF;
  let nan = 0;
  let inf = 0;
  const len = data.length;
  for (let i = 0; i < len; i++) {
    const v = data[i]!;
    if (v >= neg && v <= limit) {
      // selects, not branches: V8 compiles these without a mispredicted jump per new extreme
      min = v < min ? v : min;
      max = v > max ? v : max;
      const f = (v - lo) * scale;
      let k = f | 0;
      const fr = f - k;
      if (fr < delta || fr > 1 - delta || k >= last) {
        if (k > last) k = last;
        if (v < edges[k]!) k--;
        else if (k !== last && v >= edges[k + 1]!) k++;
      }
      counts[k] = counts[k]! + 1;
    } else if (v !== v) nan++;
    else if (v === INF || v === -INF) inf++;
    else return { min, max, absMax: 0, finite: 0, nan, inf, stoppedAt: i };
  }
  const finite = len - nan - inf;
  const absMax = finite > 0 ? M_max(-min, max) : 0;
  return { min, max, absMax, finite, nan, inf, stoppedAt: -1 };
}
