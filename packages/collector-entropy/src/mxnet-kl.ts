import { f32Scratch, mxnetDivergenceF32, mxnetSmoothedF32 } from './mxnet-kl-f32';

// Globals bound once: in a vm context (jest) each global lookup in a hot loop costs ~300 ns.
const { abs: M_abs, clz32: M_clz32, floor: M_floor, log: M_log, max: M_max, min: M_min } = Math;
const isInteger = Number.isInteger;
const isFiniteNum = Number.isFinite;
const INF = Infinity;

/** Result of a KL threshold search. */
export interface KlResult {
  /** Winning candidate: MXNet's half-width `i` (slice = 2i+1 bins); NVIDIA's number of kept bins. */
  index: number;
  /** The clip threshold T. */
  threshold: number;
  /** KL divergence at the winner (Infinity when no candidate had a finite one). */
  divergence: number;
}

const EPS = 1e-4;

/**
 * Working arrays reused from one search to the next (views of the needed length; every element a
 * search reads it writes first): allocating ~20 arrays per tensor made the garbage collector a
 * large part of a postCollect over hundreds of tensors. One search at a time per thread (synchronous).
 */
const scratch64s = new Map<string, Float64Array>();
const scratch32s = new Map<string, Int32Array>();
let f32Work: ReturnType<typeof f32Scratch> | undefined;
function scratch64(slot: string, len: number): Float64Array {
  let a = scratch64s.get(slot);
  if (!a || a.length < len) scratch64s.set(slot, (a = new Float64Array(len)));
  return a.subarray(0, len);
}
function scratch32(slot: string, len: number): Int32Array {
  let a = scratch32s.get(slot);
  if (!a || a.length < len) scratch32s.set(slot, (a = new Int32Array(len)));
  return a.subarray(0, len);
}

/** Relative differences below this are rounding noise of the prefix-sum evaluation. */
const TIE_TOL = 1e-11;

/** How the divergences are evaluated; see {@link mxnetKlThreshold}. */
export type KlPrecision = 'float32' | 'float64';

/**
 * Float32 rounding in the reference moves a divergence by up to ~1e-3 relative (observed on a
 * 53711-bin histogram; it grows with the slice length). Candidates within this window of the
 * float64 minimum are re-evaluated the reference's way.
 */
/**
 * After correcting the float64 divergence for the reference's float32 sums of p and q (the
 * dominant error), what is left is per-term rounding; candidates within this window of the
 * corrected minimum get the full float32 evaluation.
 */
const F32_WINDOW_REL = 1e-3;

/**
 * MXNet's `calibrate_entropy` / TVM's `MinimizeKL` (ALGORITHMS.md §1 steps 6-13): for each
 * candidate `i = nq/2 … n/2` the slice `[zero-i, zero+i]` with the outliers folded into its end
 * bins is p; q is the slice (`sliced[0]` left 0, the reference's quirk) merged into `nq` groups
 * and spread back over p's non-zero bins; both are smoothed with eps = 1e-4; first minimum wins;
 * `threshold = edges[zero+i+1]`.
 *
 * The reference is O(n) per candidate (O(n²) overall, with a log per bin). This computes the same
 * divergence in O(nq) per candidate from prefix sums over the bins. The smoothing shifts every
 * non-zero p by the same c = eps·zeros/nonzeros, so Σ(p−c)ln(p−c) over a bin range is expanded
 * as Σ p ln p − c(Σ ln p + k) + c²/2·Σ1/p + c³/6·Σ1/p² + c⁴/12·Σ1/p³ (error below c⁵/20 per bin,
 * i.e. < 1e-11 in the divergence for the c ≤ 0.01·min(p) where it is used); larger c occurs only
 * for very sparse histograms and is summed exactly over the non-zero bins. Zero bins of p are
 * zero in q too and add nothing. Everything is float64 (the reference sums in float32, so an
 * argmin decided by less than ~1e-6 relative can differ).
 *
 * `precision: 'float32'` (default) reproduces the reference's choice: its float32 sums are off by
 * up to ~1e-3 relative on long slices, which is enough to pick another candidate than exact
 * arithmetic does. The float64 pass then screens: only candidates within 2% of the float64
 * minimum are re-evaluated with the reference's float32 arithmetic ({@link mxnetDivergenceF32}),
 * and the first float32 minimum among them wins (its float32 divergence is reported).
 * `'float64'` keeps the exact-arithmetic choice.
 *
 * `hist` holds non-negative counts (NaN is not allowed); `edges` has `hist.length + 1` entries.
 * An odd bin count is expected (MXNet asserts it). A histogram without any count, or one where
 * no candidate has a finite divergence, gives `threshold = edges[n]` (the abs-max) and
 * `divergence = Infinity`: the reference would crash or return the smallest candidate.
 * A candidate whose smoothed p is invalid (eps·zeros/nonzeros ≥ 1, an unguarded CHECK in MXNet)
 * gets divergence Infinity.
 */
export function mxnetKlThreshold(
  hist: ArrayLike<number>,
  edges: ArrayLike<number>,
  numQuantizedBins: number,
  precision: KlPrecision = 'float32',
): KlResult {
  const n = hist.length;
  const nq = numQuantizedBins;
  const zero = n >> 1;
  const halfQ = nq >> 1;
  // Prefix sums (index k = sum over bins < k).
  const C = scratch64('C', n + 1); // counts
  const N = scratch64('N', n + 1); // non-zero bins
  const HL = scratch64('HL', n + 1); // h ln h
  const LN = scratch64('LN', n + 1); // ln h
  const R1 = scratch64('R1', n + 1); // 1/h
  const R2 = scratch64('R2', n + 1); // 1/h²
  const R3 = scratch64('R3', n + 1); // 1/h³
  C[0] = N[0] = HL[0] = LN[0] = R1[0] = R2[0] = R3[0] = 0;
  const nzIdx = scratch32('nzIdx', n);
  let nnzAll = 0;
  let hMin = INF;
  let allInteger = true;
  for (let k = 0; k < n; k++) {
    const h = hist[k]!;
    C[k + 1] = C[k]! + h;
    if (h !== 0) {
      const l = M_log(h);
      const r = 1 / h;
      nzIdx[nnzAll++] = k;
      N[k + 1] = N[k]! + 1;
      HL[k + 1] = HL[k]! + h * l;
      LN[k + 1] = LN[k]! + l;
      R1[k + 1] = R1[k]! + r;
      R2[k + 1] = R2[k]! + r * r;
      R3[k + 1] = R3[k]! + r * r * r;
      if (h < hMin) hMin = h;
      if (allInteger && !isInteger(h)) allInteger = false;
    } else {
      N[k + 1] = N[k]!;
      HL[k + 1] = HL[k]!;
      LN[k + 1] = LN[k]!;
      R1[k + 1] = R1[k]!;
      R2[k + 1] = R2[k]!;
      R3[k + 1] = R3[k]!;
    }
  }
  const total = C[n]!;
  const fallback: KlResult = { index: zero, threshold: edges[n]!, divergence: INF };
  if (!(total > 0) || n < nq) return fallback;
  const seriesMaxC = 0.01 * hMin;
  const lnTotal = M_log(total);

  const divs = scratch64('divs', zero - halfQ + 1);
  // A − B of each candidate, for the float32 correction below.
  const As = scratch64('As', zero - halfQ + 1);
  // The middle groups j = 1 … nq−2 of a candidate are windows [start + j·m, start + (j+1)·m) of
  // the histogram. Candidates with the same m share most of those windows (start moves by one
  // per candidate, the windows by m), so for each m the per-window terms are summed once along
  // stride-m chains (G below) and each candidate takes a difference of two chain sums: O(1)
  // instead of nq logarithms. q's smoothing constant cq enters through ln(S/K − cq) =
  // ln(S/K) + ln(1 − cq·K/S), a 4-term series in x = cq·K/S ≤ cq/hMin, used when x ≤ 1e-3
  // (truncation < x⁵/5 ≤ 2e-16 relative); otherwise the candidate's groups are summed directly.
  const G = new StridedSums(n);
  const seriesMaxCq = 1e-3 * hMin;
  let best = -1;
  let bestDiv = INF;
  for (let iRun = halfQ; iRun <= zero;) {
    const m = M_floor((2 * iRun + 1) / nq);
    // last candidate with this m: 2i+1 < (m+1)·nq
    const iEnd = M_min(zero, M_floor(((m + 1) * nq - 2) / 2));
    const startLo = zero - iEnd;
    const startHi = zero - iRun;
    const chainEnd = startHi + (nq - 2) * m;
    // Chains cost one log per window position; the direct sums nq−2 per candidate.
    const useChains = nq > 2 && chainEnd - startLo + 1 < (iEnd - iRun + 1) * (nq - 2);
    if (useChains) G.build(C, N, m, startLo, chainEnd);
    for (let i = iRun; i <= iEnd; i++) {
      const start = zero - i;
      const stop = zero + i + 1;
      const L = stop - start;
      // p's end bins: left outliers + the start bin; the last slice bin + right outliers.
      const p0 = C[start + 1]!;
      const pL = total - C[stop - 1]!;
      const hLast = hist[stop - 1]!;
      // Interior bins (p = sliced = hist) are hist[start+1 .. stop-2].
      const a = start + 1;
      const b = stop - 1;
      const nnzInt = N[b]! - N[a]!;
      // Group 0 is hist[start+1, start+m) (sliced[0] = 0), the last group hist[start+(nq-1)m, stop).
      const g0b = start + m;
      const qb0 = C[g0b]! - C[a]!;
      const norm0 = N[g0b]! - N[a]!;
      const gLa = start + (nq - 1) * m;
      const qbL = C[stop]! - C[gLa]!;
      const normL = N[stop]! - N[gLa]!;
      const q0 = p0 !== 0 && norm0 !== 0 ? qb0 / norm0 : 0;
      const qL = pL !== 0 && normL !== 0 ? qbL / normL : 0;
      const nnzP = nnzInt + (p0 !== 0 ? 1 : 0) + (pL !== 0 ? 1 : 0);
      // q is non-zero where p is, except at the end bins when their group is empty.
      const nnzQ = nnzInt + (q0 !== 0 ? 1 : 0) + (qL !== 0 ? 1 : 0);
      let div = INF;
      let A_ = 0 / 0; // NaN without a global lookup
      const cp = (EPS * (L - nnzP)) / nnzP;
      const cq = (EPS * (L - nnzQ)) / nnzQ;
      if (nnzQ > 0 && cq < 1 && nnzP > 0 && cp < 1) {
        // Σq: the group sums of the slice (each spread over exactly its non-zero bins), plus the
        // end bins' shares where p is non-zero but the slice bin is zero.
        let sumQ = C[stop]! - C[a]! + q0;
        if (hLast === 0) sumQ += qL;
        // A = Σ (p−c) ln(p−c) over non-zero p.
        let A: number;
        if (cp <= seriesMaxC) {
          A = HL[b]! - HL[a]! - cp * (LN[b]! - LN[a]! + nnzInt) + ((cp * cp) / 2) * (R1[b]! - R1[a]!)
            + ((cp * cp * cp) / 6) * (R2[b]! - R2[a]!) + ((cp * cp * cp * cp) / 12) * (R3[b]! - R3[a]!);
        } else {
          A = 0;
          for (let t = N[a]!, te = N[b]!; t < te; t++) {
            const v = hist[nzIdx[t]!]! - cp;
            A += v * M_log(v);
          }
        }
        if (p0 !== 0) A += (p0 - cp) * M_log(p0 - cp);
        if (pL !== 0) A += (pL - cp) * M_log(pL - cp);
        // B = Σ (p−c) ln(q') over non-zero p; q' is constant over a group's non-zero bins.
        let B = 0;
        // group 0 (its q is over the same bins) and the last group (q over [gLa, stop), p over [gLa, b))
        if (norm0 !== 0) B += (qb0 - cp * norm0) * M_log(qb0 / norm0 - cq);
        const cntL = N[b]! - N[gLa]!;
        if (cntL !== 0) B += (C[b]! - C[gLa]! - cp * cntL) * M_log(qbL / normL - cq);
        if (useChains && cq <= seriesMaxCq) {
          B += G.sum(start, start + (nq - 2) * m, cp, cq, N[gLa]! - N[g0b]!);
        } else {
          for (let j = 1; j < nq - 1; j++) {
            const ga = start + j * m;
            const gb = ga + m;
            const cnt = N[gb]! - N[ga]!;
            if (cnt === 0) continue;
            const s = C[gb]! - C[ga]!;
            B += (s - cp * cnt) * M_log(s / cnt - cq);
          }
        }
        if (p0 !== 0) B += (p0 - cp) * M_log(q0 !== 0 ? q0 - cq : EPS);
        if (pL !== 0) B += (pL - cp) * M_log(qL !== 0 ? qL - cq : EPS);
        // KL >= 0; the prefix-sum form can land a few ulps below an exact 0.
        div = M_max(0, (A - B) / total + M_log(sumQ) - lnTotal);
        A_ = A - B;
      }
      divs[i - halfQ] = div;
      As[i - halfQ] = A_;
      // First minimum; differences at the level of the prefix sums' rounding count as ties.
      if (best < 0 ? div < INF : div < bestDiv - TIE_TOL * (1e-3 + bestDiv)) { bestDiv = div; best = i; }
    }
    iRun = iEnd + 1;
  }
  if (best < 0) return fallback;
  if (precision === 'float32') {
    // Screen in order of the float64 divergence: each screened candidate gets the reference's
    // float32 sums of p and q, which give a corrected divergence (A − B + Σp·ln(qs/ps)) / ps.
    // Stop once the float64 divergence exceeds the corrected minimum by more than twice the
    // largest correction seen plus the window (the correction is smooth in i).
    // Candidates in increasing float64 divergence (ties: lower index first), popped lazily from a
    // heap: the screening below usually stops after a few, so sorting all of them (thousands per
    // tensor) was most of this phase.
    const order = ascending(divs);
    if (!f32Work || f32Work.p.length < n) f32Work = f32Scratch(n);
    const scratch = f32Work;
    const corrected = scratch64('corrected', divs.length).fill(INF);
    // Integer counts sum exactly in float32 below 2^24, so the reference's sequential float32
    // sums of raw counts equal the prefix sums; above that, take the slow exact path.
    const exactCounts = total < 16777216 && allInteger;
    let minCorr = INF;
    let maxShift = 0;
    for (let k = order.next(); k >= 0; k = order.next()) {
      const d64 = divs[k]!;
      if (d64 > minCorr + 2 * maxShift + F32_WINDOW_REL * M_abs(minCorr) + 1e-8) break;
      let sums: { ps: number; qs: number } | undefined;
      if (exactCounts) sums = smoothedSumsF32(hist, C, N, n, k + halfQ, nq);
      else sums = mxnetSmoothedF32(hist, k + halfQ, nq, scratch);
      if (!sums) continue;
      const c = (As[k]! + total * M_log(sums.qs / sums.ps)) / sums.ps;
      corrected[k] = c;
      if (c < minCorr) minCorr = c;
      const shift = M_abs(c - d64);
      if (shift > maxShift) maxShift = shift;
    }
    const limit = minCorr + F32_WINDOW_REL * M_abs(minCorr) + 1e-8;
    let b32 = -1;
    let d32 = INF;
    for (let i = halfQ; i <= zero; i++) {
      if (!(corrected[i - halfQ]! <= limit)) continue;
      const d = mxnetDivergenceF32(hist, i, nq, scratch);
      if (d < d32) { d32 = d; b32 = i; }
    }
    if (b32 >= 0) return { index: b32, threshold: edges[zero + b32 + 1]!, divergence: d32 };
  }
  return { index: best, threshold: edges[zero + best + 1]!, divergence: bestDiv };
}

/**
 * The indexes of the finite values of `v` in increasing order of value (equal values: lower index
 * first), one per `next()` (-1 when done): a binary min-heap built in O(n), O(log n) per pop.
 */
function ascending(v: Float64Array): { next: () => number } {
  const heap = scratch32('heap', v.length);
  let size = 0;
  for (let k = 0; k < v.length; k++) if (isFiniteNum(v[k]!)) heap[size++] = k;
  const less = (a: number, b: number): boolean => v[a]! < v[b]! || (v[a] === v[b] && a < b);
  const down = (i: number): void => {
    const x = heap[i]!;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= size) break;
      if (c + 1 < size && less(heap[c + 1]!, heap[c]!)) c++;
      if (!less(heap[c]!, x)) break;
      heap[i] = heap[c]!;
      i = c;
    }
    heap[i] = x;
  };
  for (let i = (size >> 1) - 1; i >= 0; i--) down(i);
  return {
    next: () => {
      if (size === 0) return -1;
      const top = heap[0]!;
      heap[0] = heap[--size]!;
      if (size > 0) down(0);
      return top;
    },
  };
}

/**
 * Sums of the per-window terms of B along stride-m chains: for the window [p, p+m) with S counts
 * over K non-zero bins (K > 0), LQ = ln(S/K) and R = K/S, the chain sum at p of f is
 * f(p) + f(p−m) + … (down to the first position built). Six terms: S·LQ, K·LQ, K·R … K·R⁴.
 */
class StridedSums {
  private readonly slq: Float64Array;
  private readonly klq: Float64Array;
  private readonly kr1: Float64Array;
  private readonly kr2: Float64Array;
  private readonly kr3: Float64Array;
  private readonly kr4: Float64Array;

  constructor(n: number) {
    this.slq = scratch64('slq', n + 1);
    this.klq = scratch64('klq', n + 1);
    this.kr1 = scratch64('kr1', n + 1);
    this.kr2 = scratch64('kr2', n + 1);
    this.kr3 = scratch64('kr3', n + 1);
    this.kr4 = scratch64('kr4', n + 1);
  }

  /** Chain sums for windows of width m starting at lo … hi (C, N: prefix counts and non-zeros). */
  build(C: Float64Array, N: Float64Array, m: number, lo: number, hi: number): void {
    const { slq, klq, kr1, kr2, kr3, kr4 } = this;
    for (let p = lo; p <= hi; p++) {
      const K = N[p + m]! - N[p]!;
      let fSlq = 0, fKlq = 0, f1 = 0, f2 = 0, f3 = 0, f4 = 0;
      if (K !== 0) {
        const S = C[p + m]! - C[p]!;
        const lq = M_log(S / K);
        const r = K / S;
        fSlq = S * lq;
        fKlq = K * lq;
        f1 = K * r;
        f2 = f1 * r;
        f3 = f2 * r;
        f4 = f3 * r;
      }
      const q = p - m;
      if (q >= lo) {
        slq[p] = slq[q]! + fSlq; klq[p] = klq[q]! + fKlq;
        kr1[p] = kr1[q]! + f1; kr2[p] = kr2[q]! + f2; kr3[p] = kr3[q]! + f3; kr4[p] = kr4[q]! + f4;
      } else {
        slq[p] = fSlq; klq[p] = fKlq; kr1[p] = f1; kr2[p] = f2; kr3[p] = f3; kr4[p] = f4;
      }
    }
  }

  /**
   * Σ (S − cp·K)·ln(S/K − cq) over the windows at p0+m, p0+2m, …, p1 (p1 − p0 a multiple of m),
   * whose non-zero bins number `k`: the series form, for cq·K/S ≤ 1e-3.
   */
  sum(p0: number, p1: number, cp: number, cq: number, k: number): number {
    const slq = this.slq[p1]! - this.slq[p0]!;
    const klq = this.klq[p1]! - this.klq[p0]!;
    const r1 = this.kr1[p1]! - this.kr1[p0]!;
    const r2 = this.kr2[p1]! - this.kr2[p0]!;
    const r3 = this.kr3[p1]! - this.kr3[p0]!;
    const r4 = this.kr4[p1]! - this.kr4[p0]!;
    const cq2 = cq * cq;
    return slq - cp * klq - cq * (k - cp * r1) - (cq2 / 2) * (r1 - cp * r2) - ((cq2 * cq) / 3) * (r2 - cp * r3)
      - ((cq2 * cq2) / 4) * (r3 - cp * r4);
  }
}

/** 2^(e+1) for x in [2^e, 2^(e+1)), 1 ≤ x < 2^30. */
function binadeTop(x: number): number {
  return 1 << (32 - M_clz32(x | 0));
}

const f32 = Math.fround;
const EPS32 = Math.fround(EPS);

/**
 * The reference's float32 sums of smoothed p and q for candidate `i`, in its summation order,
 * group by group without building p and q (bin by bin only where rounding is not predictable): equal to {@link mxnetSmoothedF32}'s for
 * integer counts whose total is below 2^24 (then every raw-count sum is exact in float32).
 */
function smoothedSumsF32(hist: ArrayLike<number>, C: Float64Array, N: Float64Array, n: number, i: number, nq: number): { ps: number; qs: number } | undefined {
  const zero = n >> 1;
  const start = zero - i;
  const stop = zero + i + 1;
  const L = stop - start;
  const m = M_floor(L / nq);
  const a = start + 1;
  const b = stop - 1;
  const p0 = C[start + 1]!;
  const pL = C[n]! - C[stop - 1]!;
  const nnzInt = N[b]! - N[a]!;
  const g0b = start + m;
  const qb0 = C[g0b]! - C[a]!;
  const norm0 = N[g0b]! - N[a]!;
  const gLa = start + (nq - 1) * m;
  const normL = N[stop]! - N[gLa]!;
  const hasQ0 = p0 !== 0 && norm0 !== 0;
  const hasQL = pL !== 0 && normL !== 0;
  const nnzP = nnzInt + (p0 !== 0 ? 1 : 0) + (pL !== 0 ? 1 : 0);
  const nnzQ = nnzInt + (hasQ0 ? 1 : 0) + (hasQL ? 1 : 0);
  if (nnzQ === 0 || nnzP === 0) return undefined;
  const e1q = f32(f32(EPS32 * (L - nnzQ)) / nnzQ);
  if (e1q >= 1) return undefined;
  const e1p = f32(f32(EPS32 * (L - nnzP)) / nnzP);
  if (e1p >= 1) return undefined;
  // group value of q: float(qb) / norm (the last group's qb is float(head) + tail)
  const qv = (g: number): number => {
    const ga = g === 0 ? a : start + g * m;
    const gb = g === nq - 1 ? stop : start + (g + 1) * m;
    const norm = N[gb]! - N[ga]!;
    let qb = C[gb]! - C[ga]!;
    if (g === nq - 1) qb = f32(C[start + g * m + m]! - C[ga]! + (C[gb]! - C[start + g * m + m]!));
    return norm ? f32(f32(qb) / norm) : 0;
  };
  // Sequential float32 sums, group by group. Once the accumulator x is in [2^11, 2^24), its ulp
  // u is in [2^-12, 1] and every term rounds onto the u-grid predictably: a zero bin's eps
  // (< u/2) vanishes, p's f32(h − e1p) (within 2·e1p < u/2 of the integer h) adds exactly h,
  // and q's constant group value adds its rounding to a multiple of u (unless it is a tie).
  // While the group's total stays inside x's binade, the whole group is one exact addition;
  // otherwise (small x, binade crossings, ties) it is summed bin by bin as the reference does.
  let ps = p0 !== 0 ? f32(p0 - e1p) : EPS32;
  let qs = hasQ0 ? f32(qv(0) - e1q) : EPS32;
  for (let g = 0; g < nq; g++) {
    const ga = g === 0 ? a : start + g * m;
    const gb = g === nq - 1 ? b : start + (g + 1) * m;
    const cnt = N[gb]! - N[ga]!;
    const qg = cnt > 0 ? f32(qv(g) - e1q) : 0;
    let pDone = false;
    if (ps >= 2048 && ps < 16777216) {
      const top = binadeTop(ps);
      const u = top * 2 ** -24;
      const sum = C[gb]! - C[ga]!;
      if (4 * e1p < u && ps + sum < top) { ps += sum; pDone = true; }
    }
    let qDone = false;
    if (qs >= 2048 && qs < 16777216) {
      const top = binadeTop(qs);
      const u = top * 2 ** -24;
      const t = qg / u;
      const fl = M_floor(t);
      const fr = t - fl;
      if (fr !== 0.5) {
        const add = cnt * (fr < 0.5 ? fl : fl + 1) * u;
        if (qs + add <= top - u) { qs += add; qDone = true; }
      }
    }
    if (pDone && qDone) continue;
    if (!pDone && !qDone) {
      for (let k = ga; k < gb; k++) {
        const h = hist[k]!;
        if (h !== 0) { ps = f32(ps + f32(h - e1p)); qs = f32(qs + qg); }
        else { ps = f32(ps + EPS32); qs = f32(qs + EPS32); }
      }
    } else if (!pDone) {
      for (let k = ga; k < gb; k++) { const h = hist[k]!; ps = f32(ps + (h !== 0 ? f32(h - e1p) : EPS32)); }
    } else {
      for (let k = ga; k < gb; k++) qs = f32(qs + (hist[k] !== 0 ? qg : EPS32));
    }
  }
  ps = f32(ps + (pL !== 0 ? f32(pL - e1p) : EPS32));
  qs = f32(qs + (hasQL ? f32(qv(nq - 1) - e1q) : EPS32));
  return { ps, qs };
}
