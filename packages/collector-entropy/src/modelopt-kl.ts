import type { KlResult } from './mxnet-kl';

// Globals bound once: in a vm context (jest) each global lookup in a hot loop costs ~300 ns.
const { ceil: M_ceil, log: M_log } = Math;
const INF = Infinity;

export interface ModeloptKlOptions {
  /** Quantized levels are `2^(numBits-1)` (128), or `2^numBits` (256) when unsigned. */
  numBits: number;
  unsigned: boolean;
  /** First candidate (number of kept bins). */
  startBin: number;
  stride: number;
}

/**
 * NVIDIA Model-Optimizer / pytorch-quantization `_compute_amax_entropy` (ALGORITHMS.md §4
 * "entropy", with Correction 2), the GTC'17 TensorRT histogram method: `bins[0] = bins[1]` (the
 * zero-spike hack, on a copy); for `i = startBin, startBin+stride, … ≤ n`: P = bins[:i] with the
 * right tail added to P[i-1]; Q = bins[:i] merged into `levels` groups (bin j in group
 * floor(levels·j/i), numpy's digitize on linspace(0, i, levels+1)) and spread over each group's
 * non-zero bins; no smoothing; KL(P‖Q) with natural log in float64 (scipy.stats.entropy): +Inf
 * when P > 0 where Q = 0, NaN when Q is all zero. The LAST minimum wins, and NaN counts as the
 * minimum (np.argmin on the reversed list), so the last NaN candidate wins if there is one.
 * `threshold = edges[i*]` (amax = i*·width).
 *
 * O(levels) per candidate from prefix sums (the reference is O(n) per candidate with Python loops).
 * `hist` must hold non-negative counts; `edges` has `hist.length + 1` entries.
 */
export function modeloptKlThreshold(hist: ArrayLike<number>, edges: ArrayLike<number>, options: ModeloptKlOptions): KlResult {
  const n = hist.length;
  const levels = 2 ** (options.numBits - 1 + (options.unsigned ? 1 : 0));
  const C = new Float64Array(n + 1);
  const N = new Float64Array(n + 1);
  const HL = new Float64Array(n + 1);
  for (let k = 0; k < n; k++) {
    const h = k === 0 && n > 1 ? hist[1]! : hist[k]!; // bins[0] = bins[1]
    C[k + 1] = C[k]! + h;
    N[k + 1] = N[k]! + (h !== 0 ? 1 : 0);
    HL[k + 1] = HL[k]! + (h !== 0 ? h * M_log(h) : 0);
  }
  const total = C[n]!;
  const bin = (k: number): number => (k === 0 && n > 1 ? hist[1]! : hist[k]!);
  let best = -1;
  let bestDiv = INF;
  let lastNan = -1;
  for (let i = options.startBin; i <= n; i += options.stride) {
    const sumQ = C[i]!;
    let div: number;
    if (sumQ === 0) {
      div = 0 / 0; // NaN; Q is all zero: 0/0 in scipy's normalisation
    } else {
      const tail = total - sumQ;
      const hLast = bin(i - 1);
      const pLast = hLast + tail;
      // Σ P ln P (P = bins except the last kept bin, which carries the tail).
      const A = HL[i - 1]! + (pLast !== 0 ? pLast * M_log(pLast) : 0);
      // Σ P ln Q: within group g, Q is the group's mean over its non-zero bins.
      let B = 0;
      let qLast = 0;
      for (let g = 0; g < levels; g++) {
        const ga = M_ceil((g * i) / levels);
        const gb = M_ceil(((g + 1) * i) / levels);
        const cnt = N[gb]! - N[ga]!;
        if (cnt === 0) continue;
        const s = C[gb]! - C[ga]!;
        const q = s / cnt;
        B += s * M_log(q);
        if (gb === i) qLast = q;
      }
      if (tail > 0) {
        if (hLast === 0) B = -INF; // P[i-1] > 0 where Q[i-1] = 0
        else B += tail * M_log(qLast);
      }
      div = (A - B) / total + M_log(sumQ / total);
    }
    if (div !== div) lastNan = i;
    else if (div <= bestDiv) { bestDiv = div; best = i; } // last minimum
  }
  if (lastNan >= 0) return { index: lastNan, threshold: edges[lastNan]!, divergence: NaN };
  if (best < 0) return { index: n, threshold: edges[n]!, divergence: INF };
  return { index: best, threshold: edges[best]!, divergence: bestDiv };
}
