const f32 = Math.fround;

/** Round half to even (torch.round). */
function roundEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * NVIDIA Model-Optimizer `_compute_amax_mse` as in 0.27 (e048fb2) and pytorch-quantization
 * (ALGORITHMS.md §4 "mse" and Correction 1: later Model-Optimizer versions pass num_bits into the
 * new `bias` argument and always return centers[start_bin]; the intended algorithm is followed).
 * Candidates amax = centers[i], i = startBin, startBin+stride, … < number of bins, where
 * centers = (e[1:]+e[:-1])/2 in float32; error(amax) = mean over bins of (fq(c) − c)²·count, with
 * the narrow-range fake quant fq(c) = clamp(round(c·s), −qmax, qmax)/s, s = f32(qmax/amax),
 * qmax = 2^(bits−1)−1 (2^bits−1 when unsigned) — all in float32 as torch computes it, the sum in
 * float64. First minimum. Returns the bin centre (not an edge). A histogram with fewer bins than
 * startBin+1 gives its last centre. Counts are finite and ≥ 0 (a histogram).
 */
export function modeloptMseAmax(counts: Float64Array, edges: Float32Array, opts: { numBits?: number; unsigned?: boolean; startBin?: number; stride?: number } = {}): { amax: number; index: number; error: number } {
  const n = counts.length;
  const qmax = opts.unsigned ? 2 ** (opts.numBits ?? 8) - 1 : 2 ** ((opts.numBits ?? 8) - 1) - 1;
  const start = opts.startBin ?? 128, stride = opts.stride ?? 1;
  const centers = new Float32Array(n);
  for (let i = 0; i < n; i++) centers[i] = f32(f32(edges[i + 1]! + edges[i]!) / 2);
  // Only occupied bins contribute; the error of one bin depends on amax only through s.
  const occ: number[] = [];
  for (let i = 0; i < n; i++) if (counts[i]! > 0) occ.push(i);
  let best = -1, bestErr = Infinity;
  for (let i = start; i < n; i += stride) {
    const amax = centers[i]!;
    const s = f32(qmax / amax);
    let sum = 0;
    for (const k of occ) {
      const c = centers[k]!;
      let q = roundEven(f32(c * s));
      if (q > qmax) q = qmax; else if (q < -qmax) q = -qmax;
      const d = f32(f32(q / s) - c);
      sum += f32(f32(d * d) * counts[k]!);
    }
    const err = sum / n;
    if (err < bestErr) { bestErr = err; best = i; }
  }
  if (best < 0) return { amax: centers[n - 1] ?? 0, index: n - 1, error: NaN };
  return { amax: centers[best]!, index: best, error: bestErr };
}
