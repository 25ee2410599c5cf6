import { histogramKernels } from '@qcal/kernels';

// Globals bound once: in a vm context (jest) each global lookup in a hot loop costs ~300 ns.
const { ceil: M_ceil, floor: M_floor, trunc: M_trunc } = Math;

/**
 * NVIDIA Model-Optimizer / pytorch-quantization `HistogramCalibrator` collection, torch branch
 * (ALGORITHMS.md §4 "Collection", Correction 8): a histogram of |x| on `[0, max]`, first with
 * `numBins` bins and `torch.linspace` edges; a later batch with a larger max extends the grid to
 * the right with the same width (`torch.arange` edges), so old bins never move.
 * All arithmetic mirrors torch's float32 CPU kernels, so counts and edges match bit for bit.
 */
const f32 = Math.fround;

export interface AbsHistogram {
  counts: Float64Array;
  /** float32 edges (`counts.length + 1` of them as torch makes them). */
  edges: Float32Array;
}

/** `torch.linspace(0, end, steps)` for float32 on CPU (symmetric two-sided evaluation). */
export function torchLinspace0(end: number, steps: number): Float32Array {
  const out = new Float32Array(steps);
  const e = f32(end);
  const step = f32(e / (steps - 1));
  const half = steps >> 1;
  for (let k = 0; k < steps; k++) out[k] = k < half ? f32(step * k) : f32(e - f32(step * (steps - 1 - k)));
  return out;
}

/**
 * `torch.arange(0, end, step)` for float32 on CPU: the size is computed in double; elements are
 * computed in double, and the vectorised part (runs of 16) starts every group of 8 from a
 * float32-rounded base, `f32(f32(step·i0) + j·step)`; the tail is `f32(step·k)`.
 */
export function torchArange0(end: number, step: number): Float32Array {
  const size = M_ceil(end / step);
  const out = new Float32Array(size);
  const full = M_floor(size / 16) * 16;
  for (let k = 0; k < size; k++) {
    if (k < full) {
      const j = k % 8;
      out[k] = f32(step * (k - j)) + j * step;
    } else out[k] = step * k;
  }
  return out;
}

/**
 * `torch.histc(x, bins, min=lo, max=hi)` on float32 (CPU kernel): bin = trunc(f32(f32(x−lo)·n) /
 * f32(hi−lo)), x == hi in the last bin, values outside [lo, hi] dropped; a degenerate range
 * becomes (lo−1, hi+1). Bins |x| (modelopt takes |x| when min < 0; for x ≥ 0 it is the same).
 * NaN and ±Infinity are skipped (outside any finite range).
 */
export function histcAbsInto(counts: Float64Array, data: Float32Array, lo: number, hi: number): void {
  let l = f32(lo);
  let h = f32(hi);
  if (l === h) { l = f32(l - 1); h = f32(h + 1); }
  const span = f32(h - l);
  // In WebAssembly (@qcal/kernels: torch's float32 formula itself, the same bins) when built, the
  // batch pays for handing the counts over, and nothing can overflow float32 (span·n < 2^128).
  const k = data.length >= 1024 + (counts.length >> 2) && span > 0 && span * counts.length < 2 ** 127 ? histogramKernels() : null;
  if (k) k.histcAbs(counts, data, l, h, span);
  else histcAbsRun(counts, data, l, h, span);
}

/** {@link histcAbsInto} in JavaScript (the reference of the WebAssembly kernel, and its fallback). */
export function histcAbsIntoJs(counts: Float64Array, data: Float32Array, lo: number, hi: number): void {
  let l = f32(lo);
  let h = f32(hi);
  if (l === h) { l = f32(l - 1); h = f32(h + 1); }
  histcAbsRun(counts, data, l, h, f32(h - l));
}

function histcAbsRun(counts: Float64Array, data: Float32Array, l: number, h: number, span: number): void {
  const n = counts.length;
  const last = n - 1;
  const scale = n / span;
  // The float32 expression is within a few float32 roundings (≤ n·2^-22 bins) of the exact
  // position; away from integer boundaries the double estimate gives the same bin.
  const delta = n * 2 ** -20 + 1e-9;
  const len = data.length;
  for (let i = 0; i < len; i++) {
    let v = data[i]!;
    if (v < 0) v = -v;
    if (!(v >= l && v <= h)) continue;
    const x = (v - l) * scale;
    let k = x | 0;
    const fr = x - k;
    if (fr < delta || fr > 1 - delta) k = M_trunc(f32(f32(f32(v - l) * n) / span));
    if (k > last) k = last;
    counts[k] = counts[k]! + 1;
  }
}

/** First batch: `numBins` bins of |x| (x itself when min ≥ 0) over [0, absMax]. */
export function absHistogram(data: Float32Array, absMax: number, numBins: number): AbsHistogram {
  const counts = new Float64Array(numBins);
  histcAbsInto(counts, data, 0, absMax);
  return { counts, edges: torchLinspace0(absMax, numBins + 1) };
}

/** Grown |x| histograms beyond this many bins are rebuilt instead (see mxnet-histogram's MAX_GROWN_BINS). */
export const MAX_GROWN_BINS = 8_000_000;

/**
 * Rebuilds `hist` over [0, absMax] with the same number of bins (torch.linspace edges); each old
 * bin's count goes to the new bin holding its centre. A deliberate deviation for growth beyond
 * {@link MAX_GROWN_BINS} (modelopt would try to allocate the grid and fail).
 */
export function regridAbs(hist: AbsHistogram, absMax: number): AbsHistogram {
  const n = hist.counts.length;
  const edges = torchLinspace0(absMax, n + 1);
  const counts = new Float64Array(n);
  const top = edges[n]!;
  for (let k = 0; k < n; k++) {
    const c = hist.counts[k]!;
    if (c === 0) continue;
    const centre = (hist.edges[k]! + hist.edges[k + 1]!) / 2;
    const j = Math.min(n - 1, Math.max(0, M_floor((centre / top) * n)));
    counts[j] = counts[j]! + c;
  }
  return { counts, edges };
}

/**
 * Adds a later batch (abs-max `absMax`): when it exceeds the last edge, the grid is extended to
 * `ceil(absMax/width)` bins of the same width; the batch is binned over [0, last edge] and the old
 * counts are added into the first bins (a new histogram is returned). Otherwise the batch is added
 * in place and `hist` is returned.
 */
export function addToAbsHistogram(hist: AbsHistogram, data: Float32Array, absMax: number): AbsHistogram {
  const lastEdge = hist.edges[hist.edges.length - 1]!;
  if (!(absMax > lastEdge)) {
    histcAbsInto(hist.counts, data, 0, lastEdge);
    return hist;
  }
  const width = f32(hist.edges[1]! - hist.edges[0]!);
  const numBins = M_ceil(f32(f32(absMax) / width));
  if (!(numBins <= MAX_GROWN_BINS)) {
    // A first batch of denormals (width 0 or ~1e-45) would need ~10^43 bins: rebuild instead.
    const fresh = regridAbs(hist, absMax);
    histcAbsInto(fresh.counts, data, 0, fresh.edges[fresh.edges.length - 1]!);
    return fresh;
  }
  const edges = torchArange0(f32(f32(absMax) + width), width);
  const counts = new Float64Array(numBins);
  histcAbsInto(counts, data, 0, edges[edges.length - 1]!);
  const old = hist.counts;
  for (let k = 0; k < old.length && k < numBins; k++) counts[k] = counts[k]! + old[k]!;
  return { counts, edges };
}

/** A modelopt |x| histogram being grown batch by batch, with the zeros seen before it had a grid. */
export interface AbsAccumulator { abs?: AbsHistogram; zeros: number }

/**
 * Adds one batch (`absMax` = its finite abs-max, `finite` = its count of finite values) to `acc`:
 * the first batch with a non-zero value creates the grid of `numBins` bins, later ones grow it
 * (addToAbsHistogram). All-zero batches before any grid are counted and put into bin 0 when the grid
 * appears (modelopt's histc would have put them there). NaN/±Infinity must be excluded by the caller's
 * scan (absMax, finite); the histogram kernels skip them.
 */
export function addAbsBatch(acc: AbsAccumulator, data: Float32Array, absMax: number, finite: number, numBins: number): void {
  if (acc.abs) acc.abs = addToAbsHistogram(acc.abs, data, absMax);
  else if (absMax > 0) {
    acc.abs = absHistogram(data, absMax, numBins);
    acc.abs.counts[0] = acc.abs.counts[0]! + acc.zeros;
  } else acc.zeros += finite;
}
