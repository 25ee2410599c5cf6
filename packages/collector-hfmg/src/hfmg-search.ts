import { f32, FLT_EPSILON, rint } from './float32';

const STEP_DIVISOR = 100000;
const MIN_BIN_RATIO = 4;

/**
 * AMCT's `hfmg_get_search_range`: from (0, nbins−1), repeatedly take `step = max(ceil(total/1e5), 1)`
 * counts from each end (scanning bins inward); the side that needed more bins moves (ties move the
 * right side); stop when the width is `ceil(nbins/4)` or less. Returns the (left, right) pairs.
 */
export function hfmgSearchRange(counts: Float64Array): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const n = counts.length;
  if (!n) return out;
  let left = 0;
  let right = n - 1;
  let total = 0;
  for (let i = 0; i < n; i++) total += counts[i]!;
  const step = Math.max(Math.ceil(total / STEP_DIVISOR), 1);
  const minBins = Math.ceil(n / MIN_BIN_RATIO);
  while (right - left > minBins) {
    let tl = left;
    let tr = right;
    let ls = 0;
    let rs = 0;
    while (tl < tr && ls < step) ls += counts[tl++]!;
    while (tl < tr && rs < step) rs += counts[tr--]!;
    if (right - tr >= tl - left) right = tr;
    else left = tl;
    out.push([left, right]);
  }
  return out;
}

/** The bin width AMCT's search uses: re-derived through `transform_hist` (float32). */
export function hfmgBinWidth(min: number, max: number, nbins: number): number {
  const w0 = f32(f32(max - min) / nbins);
  const top = f32(min + f32(nbins * w0));
  return f32(f32(top - min) / nbins);
}

/** Prefix sums of count·i^k (k = 0, 1, 2) for the clipped bins' closed form in {@link hfmgLoss}. */
export interface BinMoments { readonly p0: Float64Array; readonly p1: Float64Array; readonly p2: Float64Array }

export function binMoments(counts: Float64Array): BinMoments {
  const n = counts.length;
  const p0 = new Float64Array(n + 1), p1 = new Float64Array(n + 1), p2 = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    const c = counts[i]!;
    p0[i + 1] = p0[i]! + c;
    p1[i + 1] = p1[i]! + c * i;
    p2[i + 1] = p2[i]! + c * i * i;
  }
  return { p0, p1, p2 };
}

/**
 * Σ over bins i in [from, to) of count_i·(a_i² + a_i·bw + bw²/3) with a_i = i·bw − K: the error of
 * bins that all round to one destination centre, ∫(x − centre)² over each bin with the bin's
 * uniform density, in closed form from the prefix sums.
 */
function clippedError(m: BinMoments, from: number, to: number, bw: number, K: number): number {
  if (to <= from) return 0;
  const s0 = m.p0[to]! - m.p0[from]!;
  const s1 = m.p1[to]! - m.p1[from]!;
  const s2 = m.p2[to]! - m.p2[from]!;
  // Σc·(i·bw − K)² + bw·Σc·(i·bw − K) + bw²/3·Σc
  return bw * bw * s2 - 2 * K * bw * s1 + K * K * s0 + bw * (bw * s1 - K * s0) + ((bw * bw) / 3) * s0;
}

/**
 * AMCT's `hfmg_calculate_loss` for one candidate: the L2 error of quantizing the source bins
 * (uniform density inside each) to `dstBins` destination bins spanning source bins [left, right],
 * with the closed-form ∫(x − centre)² of every overlap; bins outside clip to the first/last
 * destination centre (computed in closed form from `moments`). 0 when the destination width is
 * below FLT_EPSILON. Float64 arithmetic (AMCT: float32 tensors).
 *
 * Cost O(dstBins): a destination bin spans D = width/dstBins source bins (a multiple of 1/dstBins,
 * exact in binary), so the source bins wholly inside destination bin j are `[ceil(j·D), floor((j+1)·D))`
 * and their ∫(x − centre_j)² is a quadratic in the bin index, summed from the prefix moments
 * (re-centred on an integer near the centre, so the integer sums stay exact); only the at most one
 * source bin straddling each destination edge is integrated piecewise, as AMCT does.
 */
export function hfmgLoss(counts: Float64Array, bw: number, left: number, right: number, dstBins: number, moments: BinMoments = binMoments(counts)): number {
  const width = right - left + 1;
  const dw = (bw * width) / dstBins;
  if (dw < FLT_EPSILON) return 0;
  const D = width / dstBins;
  if (!(D > 1)) return hfmgLossDirect(counts, bw, left, right, dstBins, moments);
  const half = dw / 2;
  const last = dstBins - 1;
  const h3 = half * half * half;
  const clip = hfmgClipLoss(counts.length, bw, left, right, dstBins, moments);
  let loss = 0; // the straddling bins'
  const { p0, p1, p2 } = moments;
  let inner = 0; // Σ over whole bins of count·((i − u)² + (i − u) + 1/3), in bin units (× bw² below)
  let ka = left; // first whole source bin of destination bin j (absolute index)
  for (let j = 0; j < dstBins; j++) {
    const edge = (j + 1) * D; // exact
    let kb: number; // end (exclusive) of the whole bins
    let straddle = false;
    if (j === last) kb = right + 1;
    else {
      const fe = edge | 0; // edge > 0: floor
      kb = left + fe;
      straddle = fe !== edge;
    }
    if (kb > ka) {
      const s0 = p0[kb]! - p0[ka]!;
      if (s0 !== 0) {
        const s1 = p1[kb]! - p1[ka]!;
        const s2 = p2[kb]! - p2[ka]!;
        const u = left + j * D + D / 2; // the destination centre in source-bin units
        const m0 = u | 0;
        const d = u - m0;
        const t1 = s1 - m0 * s0;
        const t2 = s2 - 2 * m0 * s1 + m0 * m0 * s0;
        inner += t2 - 2 * d * t1 + d * d * s0 + t1 - d * s0 + s0 / 3;
      }
    }
    if (straddle) {
      const c = counts[kb]!;
      if (c !== 0) {
        const density = c / bw;
        const centre = j * dw + half;
        const a = (kb - left) * bw - centre;
        loss += (density * (h3 - a * a * a)) / 3;
        const e = a + bw - dw; // end − (j + 1)·dw − half
        loss += (density * (e * e * e + h3)) / 3;
      }
      ka = kb + 1;
    } else ka = kb;
  }
  // Every term of `loss + bw²·inner` is ≥ 0 and a non-empty source bin adds at least count·bw²/12,
  // far above the rounding of `inner`: the sum is ≥ 0, so the result is ≥ `clip` (see hfmgSearch).
  return clip + (loss + bw * bw * inner);
}

/**
 * The part of {@link hfmgLoss} from the bins outside [left, right] (clipped to the first/last
 * destination centre), O(1): a lower bound of the loss that {@link hfmgLoss} adds last, so a candidate
 * whose clipping error alone exceeds the best loss so far cannot win.
 */
export function hfmgClipLoss(nbins: number, bw: number, left: number, right: number, dstBins: number, moments: BinMoments): number {
  const dw = (bw * (right - left + 1)) / dstBins;
  const half = dw / 2;
  // Left of `left`: every bin rounds to the centre of destination bin 0: a_i = (i − left)·bw − half.
  const l = clippedError(moments, 0, left, bw, left * bw + half);
  // Right of `right`: the centre of the last destination bin, last·dw + half.
  return l + clippedError(moments, right + 1, nbins, bw, left * bw + (dstBins - 1) * dw + half);
}

/** {@link hfmgLoss} bin by bin, O(width): used when a destination bin is not wider than a source bin. */
export function hfmgLossDirect(counts: Float64Array, bw: number, left: number, right: number, dstBins: number, moments: BinMoments = binMoments(counts)): number {
  const dw = (bw * (right - left + 1)) / dstBins;
  if (dw < FLT_EPSILON) return 0;
  const half = dw / 2;
  const last = dstBins - 1;
  const mid = (2 * half * half * half) / 3; // ∫_{-h}^{h} x² dx
  // Left of `left`: every bin rounds to the centre of destination bin 0: a_i = (i − left)·bw − half.
  let loss = clippedError(moments, 0, left, bw, left * bw + half);
  // Right of `right`: the centre of the last destination bin, last·dw + half.
  loss += clippedError(moments, right + 1, counts.length, bw, left * bw + last * dw + half);
  for (let i = left; i <= right; i++) {
    const c = counts[i]!;
    if (c === 0) continue;
    const density = c / bw;
    const begin = (i - left) * bw;
    const end = begin + bw;
    // begin, end ≥ 0 here, so `| 0` is floor (no Math.* calls in the loop).
    let bi = (begin / dw) | 0;
    if (bi > last) bi = last;
    let ei = (end / dw) | 0;
    if (ei > last) ei = last;
    const centre = bi * dw + half;
    if (bi === ei) {
      const a = begin - centre, b = end - centre;
      loss += (density * (b * b * b - a * a * a)) / 3;
    } else {
      const a = begin - centre;
      loss += (density * (half * half * half - a * a * a)) / 3;
      loss += (ei - bi - 1) * density * mid;
      const e = end - ei * dw - half;
      loss += (density * (e * e * e + half * half * half)) / 3;
    }
  }
  return loss;
}

/** What AMCT's `calculate_scale_offset` gives for a clip range (float32), and the clip values it emits. */
export function amctScaleOffset(rangeMin: number, rangeMax: number, withOffset: boolean, numBits: number): { scale: number; offset: number; clipMin: number; clipMax: number } {
  const half = 2 ** (numBits - 1);
  let scale: number;
  let offset: number;
  if (withOffset) {
    const mx = Math.max(rangeMax, 0);
    const mn = Math.min(rangeMin, 0);
    scale = f32(f32(mx - mn) / (2 ** numBits - 1));
    offset = mx !== mn ? f32(-half - f32(mn / scale)) : -half;
    if (scale < FLT_EPSILON) { scale = 1; offset = -half; }
  } else {
    const negative = Math.abs(rangeMax) < Math.abs(rangeMin);
    const boundary = Math.abs(rangeMax) > Math.abs(rangeMin) ? Math.abs(rangeMax) : Math.abs(rangeMin);
    scale = f32(boundary / (half - 1 + (negative ? 1 : 0)));
    offset = 0;
    if (scale < FLT_EPSILON) scale = 1;
  }
  offset = rint(offset) + 0;
  const clipMax = f32(f32(half - 1 - offset) * scale);
  const clipMin = f32(f32(half + offset) * -scale);
  return { scale, offset, clipMin, clipMax };
}

export interface HfmgResult {
  readonly scale: number;
  readonly offset: number;
  /** What AMCT emits as clip_min / clip_max. */
  readonly clipMin: number;
  readonly clipMax: number;
  /** The searched range `min + left·w`, `min + (right + 1)·w`. */
  readonly rangeMin: number;
  readonly rangeMax: number;
  readonly diag: { readonly nCandidates: number; /** Candidates whose full loss was computed (the others' clipping error alone exceeded the best). */ readonly evaluated: number; readonly bestIndex: number; readonly bestBins: readonly [number, number]; readonly loss: number };
}

/**
 * AMCT HFMG's search (`hfmg_compute`, Python): candidates from {@link hfmgSearchRange}, the L2 loss
 * of each against 2^numBits destination bins, the global first minimum, then AMCT's scale/offset.
 * With no candidate (a histogram already narrower than nbins/4) the full range is used.
 */
export function hfmgSearch(counts: Float64Array, min: number, max: number, withOffset: boolean, numBits: number): HfmgResult {
  const n = counts.length;
  const ranges = hfmgSearchRange(counts);
  const bw = hfmgBinWidth(min, max, n);
  const dst = 2 ** numBits;
  const moments = binMoments(counts);
  let best = 0;
  let bestLoss = Infinity;
  let evaluated = 0;
  for (let k = 0; k < ranges.length; k++) {
    const [l, r] = ranges[k]!;
    // The clipping error is the first summand of the loss and the rest is ≥ 0: a candidate whose
    // clipping error alone exceeds the best loss cannot be the (first) minimum.
    // (A destination width below FLT_EPSILON makes the loss 0 whatever the clipping.)
    if ((bw * (r - l + 1)) / dst >= FLT_EPSILON && hfmgClipLoss(n, bw, l, r, dst, moments) > bestLoss) continue;
    evaluated++;
    const loss = hfmgLoss(counts, bw, l, r, dst, moments);
    if (loss < bestLoss) { bestLoss = loss; best = k; }
  }
  const [left, right] = ranges[best] ?? [0, n - 1];
  const rangeMin = f32(min + f32(left * bw));
  const rangeMax = f32(min + f32((right + 1) * bw));
  const so = amctScaleOffset(rangeMin, rangeMax, withOffset, numBits);
  return { ...so, rangeMin, rangeMax, diag: { nCandidates: ranges.length, evaluated, bestIndex: best, bestBins: [left, right], loss: ranges.length ? bestLoss : 0 } };
}
