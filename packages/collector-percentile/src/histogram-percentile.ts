/**
 * `idx = searchsorted(cumsum(counts/total), p/100)` (side left), threshold = `edges[idx]`: the
 * LEFT edge of the bin where the cumulative share reaches p (Model-Optimizer
 * `_compute_amax_percentile`, onnxruntime `compute_percentile`). The cumulative sum runs in
 * float64 in bin order, as NumPy's cumsum. An empty histogram gives index 0. When rounding keeps the
 * cdf just below p at the end, the last edge is returned.
 */
export function histogramPercentile(counts: Float64Array, edges: Float32Array, percentile: number): { index: number; threshold: number } {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  if (!(total > 0)) return { index: 0, threshold: edges[0] ?? 0 };
  const p = percentile / 100;
  let cdf = 0;
  for (let i = 0; i < counts.length; i++) {
    cdf += counts[i]! / total;
    if (cdf >= p) return { index: i, threshold: edges[i]! };
  }
  return { index: counts.length, threshold: edges[counts.length]! };
}
