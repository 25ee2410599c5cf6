import { growthFor, MAX_GROWN_BINS, regridSigned, type SignedHistogram } from './mxnet-histogram';
import { linspaceEdges32 } from './numpy-histogram';
import { regridAbs, torchArange0, type AbsHistogram } from './abs-histogram';

// Globals bound once: in a vm context (jest) each global lookup in a hot loop costs ~300 ns.
const { abs: M_abs, ceil: M_ceil, floor: M_floor, max: M_max, min: M_min } = Math;

/**
 * Merging the histogram of a later data shard (B) into an earlier one (A), for sharded runs.
 *
 * A single run over A's batches then B's would grow A's grid whenever a B batch exceeds the
 * current range, and bin B's values on that grid. The grid sequence is replayed exactly from B's
 * "records" (the abs-max of every B batch that exceeded all earlier B batches: only those can grow
 * the grid). B's counts are then moved onto the final grid: bin for bin when both grids have the
 * same width (both shards' first batches had the same abs-max, e.g. clipped activations), which
 * gives a single run's histogram; otherwise each B bin's count goes to the bin holding its centre,
 * which can move a count by one bin (a documented approximation: B's values are gone).
 */

const ALIGN_RTOL = 1e-9;

/** Replays B's growth records on A (MXNet `combine_histogram` growth), returns the grown copy. */
function growSigned(a: SignedHistogram, records: readonly number[]): SignedHistogram {
  let th = a.th;
  let n = a.counts.length;
  let offset = 0;
  for (const r of records) {
    if (!(r > th)) continue;
    const g = growthFor(th, n, r);
    if (!(g.numBins <= MAX_GROWN_BINS)) return regridSigned(a, M_max(...records)); // as addToSignedHistogram
    offset += g.half;
    th = g.th;
    n = g.numBins;
  }
  if (offset === 0) return { counts: Float64Array.from(a.counts), edges: a.edges, th };
  const counts = new Float64Array(n);
  counts.set(a.counts, offset);
  return { counts, edges: linspaceEdges32(-th, th, n), th };
}

/** NumPy's bin for value v on `edges` (v within range). */
function binOf(edges: Float32Array, v: number): number {
  const n = edges.length - 1;
  const lo = edges[0]!;
  const hi = edges[n]!;
  if (v <= lo) return 0;
  if (v >= hi) return n - 1;
  let k = M_min(n - 1, M_floor(((v - lo) / (hi - lo)) * n));
  while (k > 0 && v < edges[k]!) k--;
  while (k < n - 1 && v >= edges[k + 1]!) k++;
  return k;
}

/**
 * Merges signed (MXNet) histograms. `aZeros`/`bZeros` are exact zeros seen while a side had no
 * grid yet (they belong to the centre bin). Returns undefined when neither side has a grid.
 */
export function mergeSignedHistograms(
  a: SignedHistogram | undefined, aZeros: number,
  b: SignedHistogram | undefined, bZeros: number, bRecords: readonly number[],
): SignedHistogram | undefined {
  if (!a && !b) return undefined;
  if (!a) {
    const counts = Float64Array.from(b!.counts);
    counts[counts.length >> 1] = counts[counts.length >> 1]! + aZeros;
    return { counts, edges: b!.edges, th: b!.th };
  }
  const t = growSigned(a, bRecords);
  const mid = t.counts.length >> 1;
  t.counts[mid] = t.counts[mid]! + bZeros;
  if (!b) return t;
  const nT = t.counts.length;
  const nB = b.counts.length;
  const wT = (2 * t.th) / nT;
  const wB = (2 * b.th) / nB;
  if (M_abs(wT - wB) <= ALIGN_RTOL * wT && nT >= nB && (nT - nB) % 2 === 0) {
    const off = (nT - nB) >> 1;
    for (let k = 0; k < nB; k++) t.counts[off + k] = t.counts[off + k]! + b.counts[k]!;
  } else {
    for (let k = 0; k < nB; k++) {
      const c = b.counts[k]!;
      if (c === 0) continue;
      const j = binOf(t.edges, (b.edges[k]! + b.edges[k + 1]!) / 2);
      t.counts[j] = t.counts[j]! + c;
    }
  }
  return t;
}

/** Replays B's growth records on A (modelopt: extend to the right with the same width). */
function growAbs(a: AbsHistogram, records: readonly number[]): AbsHistogram {
  let edges = a.edges;
  let n = a.counts.length;
  const f32 = Math.fround;
  for (const r of records) {
    if (!(r > edges[edges.length - 1]!)) continue;
    const width = f32(edges[1]! - edges[0]!);
    n = M_ceil(f32(f32(r) / width));
    if (!(n <= MAX_GROWN_BINS)) return regridAbs(a, M_max(...records)); // as addToAbsHistogram
    edges = torchArange0(f32(f32(r) + width), width);
  }
  const counts = new Float64Array(n);
  counts.set(a.counts);
  return { counts, edges };
}

/** Merges |x| (modelopt) histograms; zeros belong to bin 0. */
export function mergeAbsHistograms(
  a: AbsHistogram | undefined, aZeros: number,
  b: AbsHistogram | undefined, bZeros: number, bRecords: readonly number[],
): AbsHistogram | undefined {
  if (!a && !b) return undefined;
  if (!a) {
    const counts = Float64Array.from(b!.counts);
    counts[0] = counts[0]! + aZeros;
    return { counts, edges: b!.edges };
  }
  const t = growAbs(a, bRecords);
  t.counts[0] = t.counts[0]! + bZeros;
  if (!b) return t;
  const wT = t.edges[1]! - t.edges[0]!;
  const wB = b.edges[1]! - b.edges[0]!;
  const nB = b.counts.length;
  if (wT === wB && t.counts.length >= nB) {
    for (let k = 0; k < nB; k++) t.counts[k] = t.counts[k]! + b.counts[k]!;
  } else {
    const last = t.edges[t.edges.length - 1]!;
    const n = t.counts.length;
    for (let k = 0; k < nB; k++) {
      const c = b.counts[k]!;
      if (c === 0) continue;
      const centre = (b.edges[k]! + b.edges[k + 1]!) / 2;
      const j = M_min(n - 1, M_max(0, M_floor((centre / last) * n)));
      t.counts[j] = t.counts[j]! + c;
    }
  }
  return t;
}
