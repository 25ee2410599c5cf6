import { f32, FLT_EPSILON } from './float32';
import { finiteRange, histcInto, histcRunFast } from './histc';

/** AMCT HFMG's running histogram: `nbins` counts over [min, max] (float32 bounds). */
export interface HfmgHistogram {
  counts: Float64Array;
  /** Range of the histogram; null before the first finite value. */
  min: number | null;
  max: number | null;
}

export function createHfmgHistogram(nbins: number): HfmgHistogram {
  return { counts: new Float64Array(nbins), min: null, max: null };
}

/** `(a // b)` of two float32 tensors: torch's `div_floor_floating` in float32. */
export function floorDivF32(a: number, b: number): number {
  if (b === 0) return a / b;
  const mod = a % b; // fmod, exact
  let div = f32(f32(a - mod) / b);
  if (mod !== 0 && (b < 0) !== (mod < 0)) div = f32(div - 1);
  if (div === 0) return 0;
  let fl = Math.floor(div);
  if (div - fl > 0.5) fl += 1;
  return fl;
}

/** Bin bounds as AMCT's `transform_hist` computes them (float32): lower/upper of bin i. */
function binWidthOf(min: number, max: number, nbins: number): number {
  return f32(f32(max - min) / nbins);
}

/**
 * AMCT's `hfmg_merge_inter` (Python): the old bins `[lo, hi)` of a histogram over `oldRange` are
 * re-binned into `merged` (a histogram over [mMin, mMax]); a bin inside one merged bin moves whole,
 * a bin straddling two is split `int(count·(edge − lo)/(hi − lo))` / rest (float32). Ranges equal
 * within FLT_EPSILON add bin-wise. Deviation: AMCT raises IndexError when an old constant range
 * sits exactly on the merged max (Corrections item 7); here its count goes to the last bin.
 */
export function hfmgRebinInto(
  merged: Float64Array, mMin: number, mMax: number,
  old: Float64Array, oMin: number, oMax: number,
): void {
  const n = merged.length;
  const isclose = (a: number, b: number) => Math.abs(a - b) <= Math.max(1e-9 * Math.max(Math.abs(a), Math.abs(b)), FLT_EPSILON);
  if (isclose(mMin, oMin) && isclose(mMax, oMax)) {
    for (let i = 0; i < n; i++) merged[i]! += old[i]!;
    return;
  }
  const ow = binWidthOf(oMin, oMax, n);
  const mw = binWidthOf(mMin, mMax, n);
  for (let i = 0; i < n; i++) {
    const count = old[i]!;
    if (count === 0) continue;
    const lower = f32(oMin + f32(i * ow));
    const upper = f32(oMin + f32((i + 1) * ow));
    let idxLow = floorDivF32(f32(lower - mMin), mw);
    let idxHigh = floorDivF32(f32(upper - mMin), mw);
    if (idxHigh >= n) idxHigh = n - 1;
    if (idxLow >= n) idxLow = n - 1; // AMCT: IndexError (see above)
    if (idxLow === idxHigh) {
      merged[idxLow]! += count;
    } else {
      const edge = f32(mMin + f32((idxLow + 1) * mw));
      const share = f32(f32(edge - lower) / f32(upper - lower));
      const low = Math.trunc(f32(count * share));
      merged[idxLow]! += low;
      merged[idxHigh]! += count - low;
    }
  }
}

/**
 * One AMCT HFMG batch step (`HFMG._merge_histogram`): the first batch is histc'd on its own
 * [min, max]; a later batch is histc'd on the combined range and the old histogram re-binned onto
 * it ({@link hfmgRebinInto}). `data` must be finite; `min`/`max` are its finite range.
 */
export function hfmgAddBatch(h: HfmgHistogram, data: Float32Array, min: number, max: number): void {
  const n = h.counts.length;
  if (h.min === null || h.max === null) {
    histcInto(h.counts, data, min, max);
    h.min = min;
    h.max = max;
    return;
  }
  const cMin = Math.min(h.min, min);
  const cMax = Math.max(h.max, max);
  const fresh = new Float64Array(n);
  histcInto(fresh, data, cMin, cMax);
  hfmgRebinInto(fresh, cMin, cMax, h.counts, h.min, h.max);
  h.counts = fresh;
  h.min = cMin;
  h.max = cMax;
}

/**
 * {@link hfmgAddBatch} for a raw batch that may hold NaN and ±Infinity (not counted; their numbers
 * are added to `bad`), in one pass when the batch lies inside the running range, which is then the
 * combined range: AMCT histograms the batch on it and adds the old counts bin-wise, i.e. exactly
 * what binning straight into the running counts does. The first value outside the range (or not
 * finite) stops that pass; its counts are taken back and the batch goes the general way, with the
 * combined range from the rest of the batch (the values before it lie inside the old range).
 * With `extremes` (fast mode) `data` is a sample of a tensor with those finite min and max: the
 * batch's range is theirs (binned in one pass when inside the running range).
 */
export function hfmgCollectBatch(h: HfmgHistogram, data: Float32Array, bad: { nan: number; inf: number }, extremes?: { readonly min: number; readonly max: number }): void {
  const n = data.length;
  const inside = extremes && h.min !== null && h.max !== null && h.min !== h.max && extremes.min >= h.min && extremes.max <= h.max;
  if (extremes && !inside) {
    // Fast mode: `data` is a sample; the batch's range is the whole tensor's (exact extremes), so
    // the running range and every re-binning follow what all values would have given.
    const r = finiteRange(data);
    bad.nan += r.nan;
    bad.inf += r.inf;
    if (r.min > r.max) return;
    hfmgAddBatch(h, data, Math.min(r.min, extremes.min), Math.max(r.max, extremes.max));
    return;
  }
  if (h.min === null || h.max === null || h.min === h.max) {
    const r = finiteRange(data);
    bad.nan += r.nan;
    bad.inf += r.inf;
    if (r.min > r.max) return; // nothing finite
    hfmgAddBatch(h, data, r.min, r.max); // histc skips NaN and ±Infinity (outside the finite range)
    return;
  }
  const lo = h.min;
  const hi = h.max;
  const range = f32(hi - lo);
  const stop = histcRunFast(h.counts, data, 0, n, lo, hi, range);
  if (stop === n) return;
  const r = finiteRange(data.subarray(stop));
  bad.nan += r.nan;
  bad.inf += r.inf;
  if (r.min >= lo && r.max <= hi) {
    // Only NaN/±Infinity were outside: the combined range is the running one, keep binning.
    let i = stop + 1;
    while (i < n) {
      i = histcRunFast(h.counts, data, i, n, lo, hi, range);
      i++;
    }
    return;
  }
  histcRunFast(h.counts, data, 0, stop, lo, hi, range, -1); // take the optimistic counts back
  hfmgAddBatch(h, data, r.min < lo ? r.min : lo, r.max > hi ? r.max : hi);
}

/**
 * Merges a histogram `other` (over its own range) into `h` with AMCT's proportional split on
 * both sides: both are re-binned onto the union range and added. Used to join shards.
 */
export function hfmgMergeHistograms(h: HfmgHistogram, other: HfmgHistogram): void {
  if (other.min === null || other.max === null) return;
  if (h.min === null || h.max === null) {
    h.counts = Float64Array.from(other.counts);
    h.min = other.min;
    h.max = other.max;
    return;
  }
  const cMin = Math.min(h.min, other.min);
  const cMax = Math.max(h.max, other.max);
  const fresh = new Float64Array(h.counts.length);
  hfmgRebinInto(fresh, cMin, cMax, other.counts, other.min, other.max);
  hfmgRebinInto(fresh, cMin, cMax, h.counts, h.min, h.max);
  h.counts = fresh;
  h.min = cMin;
  h.max = cMax;
}
