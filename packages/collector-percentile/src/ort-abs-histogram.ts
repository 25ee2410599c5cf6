import { CalibrationError } from '@qcal/plugin-kit';
import { histogramKernels } from '@qcal/kernels';
import { histogramInto, linspaceEdges32 } from '@qcal/collector-entropy';
import { histogramPercentile } from './histogram-percentile';

const f32 = Math.fround;

/**
 * onnxruntime 1.30 `HistogramCollector.collect_absolute_value` (calibrate.py; ALGORITHMS.md §3.2):
 * a histogram of |x| whose first grid is `np.histogram(|x|, bins=numBins)`, i.e. over
 * `[min|x|, max|x|]` (not from 0; a constant batch gets NumPy's `[c−0.5, c+0.5]`). A later batch
 * whose max |x| passes the last edge appends `np.arange(last+w, max+w, w)` edges of the same
 * float32 width; values below the first edge are dropped (onnxruntime's behaviour, counted in
 * `dropped`). Edges are float32 as NumPy makes them for float32 data.
 */
export interface OrtAbsHistogram {
  counts: Float64Array;
  edges: Float32Array;
  /** Finite values that fell below the first edge of a grid made by an earlier batch. */
  dropped: number;
}

/** |x| of the finite values (NaN and ±Infinity left out: the caller counts them). */
export function absFinite(data: Float32Array): Float32Array {
  const out = new Float32Array(data.length);
  let n = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v === v && v !== Infinity && v !== -Infinity) out[n++] = v < 0 ? -v : v;
  }
  return n === data.length ? out : out.subarray(0, n);
}

function minMax(a: Float32Array): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < a.length; i++) { const v = a[i]!; if (v < lo) lo = v; if (v > hi) hi = v; }
  return [lo, hi];
}

/** First batch (`abs`: finite |x|, non-empty). */
export function ortAbsHistogram(abs: Float32Array, numBins: number): OrtAbsHistogram {
  let [lo, hi] = minMax(abs);
  if (lo === hi) { lo -= 0.5; hi += 0.5; }
  const edges = linspaceEdges32(lo, hi, numBins);
  const counts = new Float64Array(numBins);
  histogramInto(counts, edges, abs);
  return { counts, edges, dropped: 0 };
}

/**
 * `np.arange(start, stop, step)` for float32 scalars: length ceil((stop−start)/step) computed in
 * float32 (NumPy subtracts the scalars in their own type), elements `start + i·delta` in float32
 * with delta = f32(f32(start+step) − start) (NumPy's FLOAT_fill).
 */
export function numpyArangeF32(start: number, stop: number, step: number): Float32Array {
  const len = Math.max(0, Math.ceil(f32(f32(stop - start) / step)));
  const out = new Float32Array(len);
  if (!len) return out;
  out[0] = start;
  if (len > 1) out[1] = f32(start + step);
  const delta = f32(out[1]! - out[0]!);
  for (let i = 2; i < len; i++) out[i] = f32(out[0]! + f32(i * delta));
  return out;
}

/**
 * The most bins a grid may grow to (2^24: 200 MB of counts and edges for one tensor). onnxruntime
 * has no limit: a finite outlier far beyond the first batch's range makes NumPy allocate one bin of
 * the first batch's width for every step up to it (10^36 bins for 2^110 after a [0, 1) batch) and
 * fail with a MemoryError; qcal stops with a CalibrationError that names the tensor instead.
 */
export const ORT_MAX_BINS = 2 ** 24;

/**
 * Later batch: extend the grid when needed, then bin |x| of its finite values onto it (a new
 * histogram when it grew). `data` is the batch as it came (NaN and ±Infinity skipped, |x| taken
 * here), or already `absFinite(batch)`: the same result. `tensor` names the tensor in the error
 * thrown when the grid would grow past `maxBins`.
 */
export function addToOrtAbsHistogram(h: OrtAbsHistogram, data: Float32Array, tensor = 'the tensor', maxBins = ORT_MAX_BINS): OrtAbsHistogram {
  const hi = finiteAbsMax(data);
  let { counts, edges } = h;
  const last = edges[edges.length - 1]!;
  if (hi > last) {
    const width = f32(edges[1]! - edges[0]!);
    const need = counts.length + Math.ceil(f32(f32(f32(hi + width) - f32(last + width)) / width));
    if (!(need <= maxBins)) {
      throw new CalibrationError(
        `percentile (onnxruntime mode): tensor "${tensor}" has a finite |x| of ${hi.toPrecision(4)}, far beyond the ${last.toPrecision(4)} its histogram reached; ` +
        `onnxruntime's percentile histogram grows by bins of the first batch's width (${width.toPrecision(4)}), which would take ${need.toPrecision(3)} bins (qcal's limit: ${maxBins}). ` +
        `Check the data feeding this tensor, exclude it (exclude.names), or calibrate it with mode "modelopt", minmax or entropy.`,
      );
    }
    const extra = numpyArangeF32(f32(last + width), f32(hi + width), width);
    const grown = new Float32Array(edges.length + extra.length);
    grown.set(edges);
    grown.set(extra, edges.length);
    edges = grown;
    const c = new Float64Array(edges.length - 1);
    c.set(counts);
    counts = c;
  }
  return { counts, edges, dropped: h.dropped + ortAbsFill(counts, edges, data) };
}

/** The largest finite |x| of `data` (−Infinity when none is finite). */
function finiteAbsMax(data: Float32Array): number {
  const k = data.length >= 256 ? histogramKernels() : null;
  if (k) {
    const r = k.finiteRange(data, Infinity);
    return r.min > r.max ? -Infinity : Math.max(-r.min, r.max);
  }
  let hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    const a = v < 0 ? -v : v;
    if (a > hi && a !== Infinity) hi = a; // NaN fails `a > hi`
  }
  return hi;
}

/**
 * np.histogram of |x| with explicit (near-uniform) edges: searchsorted right, last bin closed;
 * NaN and ±Infinity skipped; returns how many finite |x| fell below the first edge (onnxruntime
 * drops them). In WebAssembly (@qcal/kernels `ortAbsFill`, the same bins) when built and the batch
 * pays for handing the counts over; else {@link ortAbsFillJs}.
 */
export function ortAbsFill(counts: Float64Array, edges: Float32Array, data: Float32Array): number {
  const k = data.length >= 1024 + (counts.length >> 2) ? histogramKernels() : null;
  return k ? k.ortAbsFill(counts, edges, data) : ortAbsFillJs(counts, edges, data);
}

/** {@link ortAbsFill} in JavaScript: the reference of the WebAssembly kernel, and its fallback. */
export function ortAbsFillJs(counts: Float64Array, edges: Float32Array, data: Float32Array): number {
  const n = counts.length;
  const lo = edges[0]!, hi = edges[n]!;
  const scale = n / (hi - lo);
  let dropped = 0;
  for (let i = 0; i < data.length; i++) {
    const x = data[i]!;
    const v = x < 0 ? -x : x;
    if (!(v >= lo && v <= hi)) {
      if (v < lo) dropped++; // finite (NaN fails, +Infinity is not below), below the first edge
      continue;
    }
    let k = Math.min(n - 1, Math.floor((v - lo) * scale));
    while (k > 0 && v < edges[k]!) k--;
    while (k < n - 1 && v >= edges[k + 1]!) k++;
    counts[k] = counts[k]! + 1;
  }
  return dropped;
}

/**
 * onnxruntime `compute_percentile`, symmetric: threshold = the left edge of the bin where the cdf
 * of |x| reaches p ({@link histogramPercentile}); range (−t, t) then clipped to the signed data
 * min/max seen (so ReLU data gives (0, t), a constant c gives (c, c) or (−|c|, c)).
 */
export function ortPercentileRange(h: OrtAbsHistogram, percentile: number, dataMin: number, dataMax: number): { min: number; max: number; index: number; threshold: number } {
  const { index, threshold: t } = histogramPercentile(h.counts, h.edges, percentile);
  let min = -t, max = t;
  if (min < dataMin) min = dataMin;
  if (max > dataMax) max = dataMax;
  return { min, max, index, threshold: t };
}
