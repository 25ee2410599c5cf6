import { histogramInto, linspaceEdges32 } from './numpy-histogram';
import { pythonFloorDiv } from './python-floor-div';
import type { FiniteScan } from './finite-scan';

// Globals bound once: in a vm context (jest) each global lookup in a hot loop costs ~300 ns.
const { trunc: M_trunc } = Math;

/**
 * The running histogram of MXNet's `_LayerHistogramCollector` (ALGORITHMS.md §1 steps 1-3): an odd
 * number of bins over `[-th, th]`, bin `numBins/2` centred on zero. Counts are exact integers
 * (float64; MXNet later casts them to float32, which only matters beyond 2^24 per bin).
 */
export interface SignedHistogram {
  counts: Float64Array;
  /** float32 edges, `np.linspace(-th, th, n + 1)` (see {@link linspaceEdges32}). */
  edges: Float32Array;
  /** Half-range, a float64 as in MXNet's Python state (grows by whole bins). */
  th: number;
}

/** Builds the histogram of one batch on `[-th, th]`, `numBins` bins (MXNet's first batch). */
export function signedHistogram(data: Float32Array, th: number, numBins: number): SignedHistogram {
  const edges = linspaceEdges32(-th, th, numBins);
  const counts = new Float64Array(numBins);
  histogramInto(counts, edges, data);
  return { counts, edges, th };
}

/**
 * How MXNet's `combine_histogram` grows a histogram to cover `newTh` > `th`: by `half` whole
 * old-width bins on each side (`old_step = 2·th/n`, `half = int((newTh - th) // old_step + 1)`),
 * so the bin count stays odd and the old bins stay aligned.
 */
export function growthFor(th: number, numBins: number, newTh: number): { half: number; th: number; numBins: number } {
  const oldStep = (2 * th) / numBins;
  const half = M_trunc(pythonFloorDiv(newTh - th, oldStep) + 1);
  return { half, th: half * oldStep + th, numBins: numBins + 2 * half };
}

/**
 * A grown histogram may not exceed this many bins. MXNet grows by whole old-width bins, so a tiny
 * first batch (denormals, say) followed by an ordinary one would ask for ~10^49 bins; beyond the
 * limit (tpu-mlir's restart threshold, also used by its mode here) the histogram is rebuilt over
 * the new range instead ({@link regridSigned}). A deliberate deviation: the references crash there.
 */
export const MAX_GROWN_BINS = 8_000_000;

/**
 * Rebuilds `hist` over `[-th, th]` with the same number of bins; each old bin's count goes to the
 * new bin holding its centre (the old values are gone). Used when growth would exceed
 * {@link MAX_GROWN_BINS}.
 */
export function regridSigned(hist: SignedHistogram, th: number): SignedHistogram {
  const n = hist.counts.length;
  const edges = linspaceEdges32(-th, th, n);
  const counts = new Float64Array(n);
  const oldStep = (2 * hist.th) / n;
  const scale = n / (2 * th);
  for (let k = 0; k < n; k++) {
    const c = hist.counts[k]!;
    if (c === 0) continue;
    const centre = -hist.th + (k + 0.5) * oldStep;
    const j = Math.min(n - 1, Math.max(0, Math.floor((centre + th) * scale)));
    counts[j] = counts[j]! + c;
  }
  return { counts, edges, th };
}

/**
 * Adds one batch to `hist` exactly as MXNet's `combine_histogram`: when the batch's abs-max fits,
 * it is histogrammed on the same bins and added (in place, `hist` is returned); otherwise a grown
 * histogram is returned holding the batch binned on the grown range plus the old counts at offset
 * `half` (rebuilt instead beyond {@link MAX_GROWN_BINS}). `scan` is {@link scanFinite} of `data`;
 * non-finite values are not binned.
 */
export function addToSignedHistogram(hist: SignedHistogram, data: Float32Array, scan: FiniteScan): SignedHistogram {
  if (scan.absMax <= hist.th) {
    histogramInto(hist.counts, hist.edges, data);
    return hist;
  }
  const g = growthFor(hist.th, hist.counts.length, scan.absMax);
  if (!(g.numBins <= MAX_GROWN_BINS)) {
    const fresh = regridSigned(hist, scan.absMax);
    histogramInto(fresh.counts, fresh.edges, data);
    return fresh;
  }
  const grown = signedHistogram(data, g.th, g.numBins);
  const c = grown.counts;
  const old = hist.counts;
  for (let k = 0; k < old.length; k++) c[g.half + k] = c[g.half + k]! + old[k]!;
  return grown;
}
