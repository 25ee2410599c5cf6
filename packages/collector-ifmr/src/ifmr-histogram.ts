import { f32 } from './float32';
import type { MomentHistogram } from './moment-histogram';
import { histogramKth } from './moment-histogram';
import { percentileRank } from './percentile';
import { DEFAULT_IFMR_PARAMS, ifmrSelect, type IfmrCandidate, type IfmrParams, type IfmrResult } from './ifmr-search';

/**
 * IFMR's loss for one candidate, from a moment histogram instead of raw data, in O(bins) additions
 * and O(levels) float32 quantizations:
 * Σ(q(x) − x)² = Σ_bins Σ_pieces (n_p·q_p² − 2·q_p·S_p) + Σx², where q is the quantize-dequantize
 * level. A bin that lies inside one level's cell contributes exactly (its count and value sum are
 * known). A bin crossed by a rounding midpoint `(k + ½)·scale` is split there, its count and sum
 * shared between the pieces under the linear density on the bin that has the bin's count and mean.
 * The error therefore only comes from the shape of the data inside crossed bins; it is at most
 * 2·scale·w per value in a crossed bin (w = bin width), and zero for data linear within each bin.
 */
export function histogramMse(h: MomentHistogram, c: IfmrCandidate): number {
  if (h.n === 0 || h.exp === null) return 0;
  const { lo, hi, scale } = c;
  const w = 2 ** h.exp;
  // Float32 rounding via a typed-array store, integer rounding via `| 0` (|v| ≤ 2^(b−1)): no
  // Math.* calls in the loop (V8 does not inline builtins across contexts, e.g. under jest).
  const F = new Float32Array(1);
  const level = (x: number): number => {
    F[0] = (x < lo ? lo : x > hi ? hi : x) / scale;
    const v = F[0]!;
    let r = v >= 0 ? (v + 0.5) | 0 : -((0.5 - v) | 0);
    if ((r - v === 0.5 || v - r === 0.5) && (r & 1) !== 0) r += v > r ? 1 : -1;
    return r;
  };
  let total = 0;
  const count = h.count;
  const sum = h.sum;
  const bins = h.bins;
  const origin = h.origin;
  // `level` is monotone (clamp, division by scale > 0, float32 rounding and rint all are), so the
  // bins whose edges share one level form runs: a run's end is found from the level's upper
  // midpoint (k + ½)·scale and checked with `level` at the run's edges, and the bins inside it are
  // summed without further `level` calls: O(levels) calls per candidate instead of 2 per bin, and
  // the same terms added in the same order as bin by bin.
  const kTop = level(hi > lo ? hi : lo);
  // Only the bins from the minimum's to the maximum's hold values (binning is floor(v/w) − origin).
  let j = Math.floor(h.min / w) - origin;
  if (!(j >= 0)) j = 0;
  let jEnd = Math.floor(h.max / w) - origin + 1;
  if (!(jEnd <= bins)) jEnd = bins;
  while (j < jEnd) {
    const a0 = (origin + j) * w;
    const ka = level(a0);
    // Last bin J ≥ j − 1 whose right edge still has level ka.
    let J: number;
    if (ka >= kTop) J = bins - 1;
    else {
      const t = (ka + 0.5) * scale / w - origin; // the midpoint, in bins
      J = t > bins ? bins - 1 : t < j ? j - 1 : (t | 0) - 1;
      if (J < j - 1) J = j - 1;
      while (J + 1 < bins && level((origin + J + 2) * w) === ka) J++;
      while (J >= j && level((origin + J + 1) * w) !== ka) J--;
    }
    if (J >= jEnd) J = jEnd - 1;
    if (J >= j) {
      const q = f32(ka * scale);
      for (let i = j; i <= J; i++) {
        const n = count[i]!;
        if (n === 0) continue;
        total += n * q * q - 2 * q * sum[i]!;
      }
      j = J + 1;
      continue;
    }
    // Bin j is crossed by at least one rounding midpoint.
    const n = count[j]!;
    if (n !== 0) {
      const S = sum[j]!;
      const a = a0;
      const b = a + w;
      const kb = level(b);
      total = crossedBin(total, n, S, a, b, w, ka, kb, scale);
    }
    j++;
  }
  return Math.max((total + h.sumSq) / h.n, 0);
}

/**
 * A bin [a, b) crossed by the rounding midpoints between levels ka < kb: split at each midpoint
 * under the linear density with the bin's count n and sum S, each piece at its level; returns
 * `total` plus the pieces' terms (added one by one).
 */
function crossedBin(total: number, n: number, S: number, a: number, b: number, w: number, ka: number, kb: number, scale: number): number {
  // Linear density on [a, b) with the bin's count and sum: f(x) = alpha + beta·(x − m).
  const m = a + w / 2;
  const alpha = n / w;
  const beta = (12 * (S - n * m)) / (w * w * w);
  let u = a;
  let nLeft = n;
  let sLeft = S;
  for (let k = ka; k < kb; k++) {
    const t = Math.min(Math.max((k + 0.5) * scale, a), b);
    const du1 = u - m, du2 = t - m;
    const np = alpha * (t - u) + (beta / 2) * (du2 * du2 - du1 * du1);
    const sp = m * np + (alpha / 2) * (du2 * du2 - du1 * du1) + (beta / 3) * (du2 * du2 * du2 - du1 * du1 * du1);
    const q = f32(k * scale);
    total += np * q * q - 2 * q * sp;
    nLeft -= np;
    sLeft -= sp;
    u = t;
  }
  const q = f32(kb * scale);
  return total + (nLeft * q * q - 2 * q * sLeft);
}

/**
 * IFMR over a moment histogram of all batches ("histogram" mode): the percentile start from the
 * histogram (exact for rank 1, i.e. below 10^6 values at the default 0.999999; otherwise within
 * one bin), the same candidates as AMCT, {@link histogramMse} as the loss, first minimum.
 */
export function ifmrSearchHistogram(h: MomentHistogram, params: Partial<IfmrParams> = {}): IfmrResult {
  const p = { ...DEFAULT_IFMR_PARAMS, ...params };
  let maxInit = 0;
  let minInit = 0;
  if (h.n > 0) {
    maxInit = Math.max(f32(histogramKth(h, percentileRank(h.n, p.maxPercentile), true)), 0);
    minInit = Math.min(f32(histogramKth(h, percentileRank(h.n, p.minPercentile), false)), 0);
  }
  return ifmrSelect(maxInit, minInit, p, (c) => histogramMse(h, c));
}
