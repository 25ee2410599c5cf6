// Globals bound once: in a vm context (jest) each global lookup in a hot loop costs ~300 ns.
const { fround: F, log10: M_log10, min: M_min } = Math;

/** tpu-mlir's histogram limit for the search: longer histograms are pair-summed (`MAX_BINS = 64·2048`). */
export const TPUMLIR_MAX_SEARCH_BINS = 64 * 2048;

/** Result of {@link tpumlirKlThreshold}. */
export interface TpuMlirKlResult {
  /** min(thresholdRaw, absMax): tpu-mlir's `result.kl` after `canonicalize()`. */
  threshold: number;
  /** float32 width·i* (the C function's return value). */
  thresholdRaw: number;
  /** Divergence (float32, base 10) of the chosen candidate. */
  divergence: number;
  /** Chosen candidate index m (i* = (m+1)·dstBins). */
  index: number;
  /** i*: number of kept bins. */
  bins: number;
  /** float32 width of the searched histogram (after pair-summing). */
  width: number;
  /** Length searched (after padding / pair-summing). */
  paddedLength: number;
  /** Divergence of every candidate, in order. */
  divergences: Float32Array;
}

/**
 * `find_threshold`'s preparation: zero-pad to a multiple of `dstBins`; while longer than
 * `maxBins`, sum adjacent pairs, double the (float32) width and pad again.
 */
export function tpumlirPadHistogram(counts: ArrayLike<number>, width: number, dstBins = 128, maxBins = TPUMLIR_MAX_SEARCH_BINS): { counts: Float64Array; width: number } {
  const pad = (src: ArrayLike<number>, n: number): Float64Array => {
    const r = n % dstBins;
    const out = new Float64Array(r === 0 ? n : n + dstBins - r);
    for (let j = 0; j < n; j++) out[j] = src[j]!;
    return out;
  };
  let h = pad(counts, counts.length);
  let w = F(width);
  while (h.length > maxBins) {
    const half = h.length >> 1; // even: a multiple of dstBins (≥ 2) or of 2
    const s = new Float64Array(half);
    for (let j = 0; j < half; j++) s[j] = h[2 * j]! + h[2 * j + 1]!;
    h = pad(s, half);
    w = F(w * 2);
  }
  return { counts: h, width: w };
}

/**
 * `kl_diversity_hist` (tpu-mlir `calibration_math.cpp`, the pthread version) on an already padded
 * histogram (length N, a multiple of `dstBins`), reproducing its float32 arithmetic:
 * candidates i = dstBins, 2·dstBins, …, N; P[j] = hist[j] (j < i−1), P[i−1] = Σ_{j≥i−1} hist[j]
 * (float32 running sum), P /= f32(total count); Q from `dstBins` groups of e = i/dstBins bins of the
 * un-folded hist: Q_base = f32(f32(Σ_group/max(1, nnz_group)) / Σ_{j<i} hist) (float32 sums),
 * Q[j] = hist[j] ? Q_base : 0; KL = Σ P·(log10(P+1e-30) − log10(Q+1e-30)) in double, accumulated in
 * a float32; the first minimum (strict >) wins; threshold = f32(width·(m+1))·dstBins, capped at
 * `absMax`.
 *
 * Cost: a bin with hist 0 has P = 0 and adds exactly 0, so it is skipped; log10(P) is computed once
 * per bin and log10(Q) once per group, and the folded tail comes from suffix sums when the total
 * count is below 2^24 (float32 sums of integers are then exact), so a candidate costs O(non-zero
 * bins below i) (~0.7 s in all for a dense 131072-bin histogram, 1024 candidates).
 */
export function tpumlirKlThreshold(hist: Float64Array, width: number, absMax: number, dstBins = 128): TpuMlirKlResult {
  const N = hist.length;
  if (N === 0 || N % dstBins !== 0) throw new Error(`tpumlirKlThreshold: length ${N} is not a positive multiple of ${dstBins}`);
  const w32 = F(width);
  let count = 0;
  for (let j = 0; j < N; j++) count += hist[j]!;
  const count32 = F(count);
  // Per bin: P without folding and its log.
  const p = new Float64Array(N);
  const lp = new Float64Array(N);
  const nz = new Int32Array(N);
  let nnz = 0;
  for (let j = 0; j < N; j++) {
    const h = hist[j]!;
    if (h !== 0) {
      const pj = F(F(h) / count32);
      p[j] = pj;
      lp[j] = M_log10(pj + 1e-30);
      nz[nnz++] = j;
    }
  }
  // Counts are integers: with a total below 2^24 every float32 partial sum is exact, so the
  // folded tails can come from exact suffix sums instead of one float32 pass per candidate.
  let suffix: Float64Array | undefined;
  if (count < 16777216) {
    suffix = new Float64Array(N + 1);
    for (let j = N - 1; j >= 0; j--) suffix[j] = suffix[j + 1]! + hist[j]!;
  }
  const numCand = N / dstBins;
  const kl = new Float32Array(numCand);
  const qlog = new Float64Array(dstBins);
  const qbase = new Float64Array(dstBins);
  let sum = 0; // float32 running Σ_{j<i} hist[j], shared across candidates (same order)
  let sumUpTo = 0;
  for (let m = 0; m < numCand; m++) {
    const i = (m + 1) * dstBins;
    for (; sumUpTo < i; sumUpTo++) { const h = hist[sumUpTo]!; if (h !== 0) sum = F(sum + F(h)); }
    // Folded last bin (float32 running sum from bin i−1 up; exact integers while the total is < 2^24).
    let tail = 0;
    if (suffix) tail = suffix[i - 1]!;
    else for (let j = i - 1; j < N; j++) { const h = hist[j]!; if (h !== 0) tail = F(tail + F(h)); }
    const pLast = F(tail / count32);
    // Q per group.
    const e = i / dstBins;
    for (let g = 0; g < dstBins; g++) {
      let sb = 0;
      let pc = 0;
      const s0 = g * e;
      for (let j = s0; j < s0 + e; j++) { const h = hist[j]!; if (h > 0) { sb = F(sb + F(h)); pc++; } else if (h !== 0) sb = F(sb + F(h)); }
      if (pc === 0) pc = 1;
      const qb = F(F(sb / pc) / sum);
      qbase[g] = qb;
      qlog[g] = M_log10(qb + 1e-30);
    }
    let acc = 0;
    for (let t = 0; t < nnz; t++) {
      const j = nz[t]!;
      if (j >= i - 1) break;
      const g = (j / e) | 0;
      acc = F(acc + p[j]! * (lp[j]! - qlog[g]!));
    }
    if (pLast !== 0) {
      const g = ((i - 1) / e) | 0;
      const qLast = hist[i - 1]! ? qbase[g]! : 0;
      const lq = hist[i - 1]! ? qlog[g]! : M_log10(qLast + 1e-30);
      acc = F(acc + pLast * (M_log10(pLast + 1e-30) - lq));
    }
    kl[m] = acc;
  }
  let best = 0;
  let bestKl = kl[0]!;
  for (let m = 1; m < numCand; m++) if (bestKl > kl[m]!) { bestKl = kl[m]!; best = m; }
  const thresholdRaw = F(F(w32 * (best + 1)) * dstBins);
  return {
    threshold: M_min(thresholdRaw, absMax),
    thresholdRaw,
    divergence: bestKl,
    index: best,
    bins: (best + 1) * dstBins,
    width: w32,
    paddedLength: N,
    divergences: kl,
  };
}
