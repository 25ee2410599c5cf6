import { f32, FLT_EPSILON, rint } from './float32';
import { amctRatios } from './ratios';
import { kthValue, percentileRank } from './percentile';

/** IFMR search parameters (AMCT names in brackets). */
export interface IfmrParams {
  /** Bits of the integer type [num_bits]: 8 (int8) or 4 (int4). */
  readonly numBits: number;
  /** Asymmetric quantization with an offset [with_offset]. */
  readonly withOffset: boolean;
  /** Percentile of the initial max / min [max_percentile, min_percentile]. */
  readonly maxPercentile: number;
  readonly minPercentile: number;
  /** Candidate ratios `arange(start, end, step)` [search_range_start/end, search_step]. */
  readonly searchStart: number;
  readonly searchEnd: number;
  readonly searchStep: number;
}

export const DEFAULT_IFMR_PARAMS: IfmrParams = {
  numBits: 8, withOffset: false, maxPercentile: 0.999999, minPercentile: 0.999999,
  searchStart: 0.7, searchEnd: 1.3, searchStep: 0.01,
};

/** What AMCT's `ifmr_forward_pytorch` returns, plus how it got there. */
export interface IfmrResult {
  readonly scale: number;
  readonly offset: number;
  /** `(2^(b-1) − 1 − offset)·scale` and `−(2^(b-1) + offset)·scale`, float32, as AMCT emits them. */
  readonly clipMin: number;
  readonly clipMax: number;
  readonly diag: {
    readonly maxInit: number;
    readonly minInit: number;
    readonly searchBase: number;
    readonly nCandidates: number;
    readonly bestIndex: number;
    readonly bestRatio: number;
    readonly bestCandidate: number;
    /** Mean squared error of the chosen candidate. */
    readonly loss: number;
  };
}

/** One candidate: clamp to [lo, hi], quantize with `scale` on the grid anchored at 0. */
export interface IfmrCandidate { readonly ratio: number; readonly hi: number; readonly lo: number; readonly scale: number }

/**
 * The candidate clip values and scales exactly as AMCT's `find_optimal_scale_offset` builds them
 * (float32): symmetric `c = f32(r·max(|max|,|min|))`, `scale = c/128` if the negative side is
 * larger else `c/127` (Python: a tie takes 127), clamp to [−c, c]; asymmetric `c = f32(r·max)`,
 * `scale = (c − min)/255`, clamp to [min, c] (only the max side is searched). `scale < 2^-23 → 1`.
 */
export function ifmrCandidates(maxInit: number, minInit: number, p: IfmrParams): { searchBase: number; candidates: IfmrCandidate[] } {
  const ratios = amctRatios(p.searchStart, p.searchEnd, p.searchStep);
  const boundNeg = Math.abs(maxInit) < Math.abs(minInit);
  const searchBase = p.withOffset ? maxInit : Math.max(Math.abs(maxInit), Math.abs(minInit));
  const limit = p.withOffset ? 2 ** p.numBits - 1 : boundNeg ? 2 ** (p.numBits - 1) : 2 ** (p.numBits - 1) - 1;
  const candidates: IfmrCandidate[] = [];
  for (const ratio of ratios) {
    const hi = f32(ratio * searchBase);
    let scale = p.withOffset ? f32(f32(hi - minInit) / limit) : f32(hi / limit);
    if (scale < FLT_EPSILON) scale = 1;
    candidates.push({ ratio, hi, lo: p.withOffset ? minInit : -hi, scale });
  }
  return { searchBase, candidates };
}

/**
 * Mean of `(round(clamp(x, lo, hi)/scale)·scale − x)²` over `data` (float32 quantize-dequantize as
 * torch does it, round half to even; the squares are summed in float64).
 */
export function quantizationMse(data: Float32Array, lo: number, hi: number, scale: number): number {
  // Float32 rounding by a typed-array store and integer rounding by `| 0` (|v| ≤ 2^(b−1) here):
  // no Math.* calls in the loop, which V8 cannot inline across contexts (e.g. under jest).
  const F = new Float32Array(2);
  let acc = 0;
  const n = data.length;
  for (let i = 0; i < n; i++) {
    const x = data[i]!;
    F[0] = (x < lo ? lo : x > hi ? hi : x) / scale;
    const v = F[0]!;
    let r = v >= 0 ? (v + 0.5) | 0 : -((0.5 - v) | 0); // half away from zero …
    if ((r - v === 0.5 || v - r === 0.5) && (r & 1) !== 0) r += v > r ? 1 : -1; // … then ties to even
    F[1] = r * scale;
    const d = F[1]! - x;
    acc += d * d;
  }
  return n ? acc / n : 0;
}

/**
 * AMCT's output for the chosen scale: `offset = −round(min/scale) − 2^(b-1)` (asymmetric) or 0,
 * `clip_max = (2^(b-1) − 1 − offset)·scale`, `clip_min = −(2^(b-1) + offset)·scale` in float32.
 */
export function ifmrOutputs(scale: number, minInit: number, p: Pick<IfmrParams, 'numBits' | 'withOffset'>): { offset: number; clipMin: number; clipMax: number } {
  const half = 2 ** (p.numBits - 1);
  const offset = p.withOffset ? -rint(f32(minInit / scale)) - half : 0;
  const clipMax = f32(f32(half - 1 - offset) * scale);
  const clipMin = f32(f32(half + offset) * -scale);
  return { offset: offset === 0 ? 0 : offset, clipMin, clipMax };
}

/** Percentile initialisation: k-th largest / smallest, then `max ≥ 0`, `min ≤ 0` (AMCT). Finite data only. */
export function ifmrInit(data: Float32Array, p: Pick<IfmrParams, 'maxPercentile' | 'minPercentile'>): { maxInit: number; minInit: number } {
  if (data.length === 0) return { maxInit: 0, minInit: 0 };
  const kMax = percentileRank(data.length, p.maxPercentile);
  const kMin = percentileRank(data.length, p.minPercentile);
  return { maxInit: Math.max(kthValue(data, kMax, true), 0), minInit: Math.min(kthValue(data, kMin, false), 0) };
}

/**
 * Picks the first candidate with the smallest loss and forms AMCT's outputs. `lossOf` evaluates one
 * candidate (on raw data, or on a histogram).
 */
export function ifmrSelect(
  maxInit: number,
  minInit: number,
  p: IfmrParams,
  lossOf: (c: IfmrCandidate) => number,
): IfmrResult {
  const { searchBase, candidates } = ifmrCandidates(maxInit, minInit, p);
  let best = 0;
  let bestLoss = Infinity;
  candidates.forEach((c, i) => {
    const loss = lossOf(c);
    if (loss < bestLoss) { bestLoss = loss; best = i; } // strict: first minimum (torch.argmin)
  });
  const chosen = candidates[best] ?? { ratio: 1, hi: 0, lo: 0, scale: 1 };
  const { offset, clipMin, clipMax } = ifmrOutputs(chosen.scale, minInit, p);
  return {
    scale: chosen.scale, offset, clipMin, clipMax,
    diag: { maxInit, minInit, searchBase, nCandidates: candidates.length, bestIndex: best, bestRatio: chosen.ratio, bestCandidate: chosen.hi, loss: bestLoss },
  };
}

/**
 * AMCT IFMR on raw data (`ifmr_forward_pytorch`, hicann/amct Python): percentile init, the candidate
 * grid, MSE of each candidate over every value, first minimum. `data` must be finite (the collector
 * drops NaN/±Inf before); an empty array gives scale 1 and a [0, 0]-based range.
 */
export function ifmrSearch(data: Float32Array, params: Partial<IfmrParams> = {}): IfmrResult {
  const p = { ...DEFAULT_IFMR_PARAMS, ...params };
  const { maxInit, minInit } = ifmrInit(data, p);
  return ifmrSelect(maxInit, minInit, p, (c) => quantizationMse(data, c.lo, c.hi, c.scale));
}
