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
 * Adds one batch to `hist` exactly as MXNet's `combine_histogram`: when the batch's abs-max fits,
 * it is histogrammed on the same bins and added (in place, `hist` is returned); otherwise a grown
 * histogram is returned holding the batch binned on the grown range plus the old counts at offset
 * `half`. `scan` is {@link scanFinite} of `data`; non-finite values are not binned.
 */
export function addToSignedHistogram(hist: SignedHistogram, data: Float32Array, scan: FiniteScan): SignedHistogram {
  if (scan.absMax <= hist.th) {
    histogramInto(hist.counts, hist.edges, data);
    return hist;
  }
  const g = growthFor(hist.th, hist.counts.length, scan.absMax);
  const grown = signedHistogram(data, g.th, g.numBins);
  const c = grown.counts;
  const old = hist.counts;
  for (let k = 0; k < old.length; k++) c[g.half + k] = c[g.half + k]! + old[k]!;
  return grown;
}
