// Globals bound once: in a vm context (jest) each global lookup in a hot loop costs ~300 ns.
const { floor: M_floor, log: M_log } = Math;
const INF = Infinity;

/**
 * Straightforward O(n²) renderings of the two KL searches, written from ALGORITHMS.md §1 and §4
 * (float64), used to cross-check the prefix-sum kernels on arbitrary histograms.
 */
function smooth(d: Float64Array, eps = 1e-4): Float64Array | undefined {
  let zeros = 0;
  for (const v of d) if (v === 0) zeros++;
  const nz = d.length - zeros;
  if (nz === 0) return undefined;
  const e1 = (eps * zeros) / nz;
  if (e1 >= 1) return undefined;
  return d.map((v) => (v === 0 ? v + eps : v - e1));
}

export function naiveMxnetDivergences(hist: ArrayLike<number>, nq: number): number[] {
  const n = hist.length;
  const zero = n >> 1;
  const out: number[] = [];
  for (let i = nq >> 1; i <= zero; i++) {
    const start = zero - i;
    const stop = zero + i + 1;
    const L = stop - start;
    const p = new Float64Array(L);
    const sliced = new Float64Array(L);
    for (let j = 0; j < n; j++) {
      if (j <= start) p[0] = p[0]! + hist[j]!;
      else if (j >= stop) p[L - 1] = p[L - 1]! + hist[j]!;
      else { sliced[j - start] = hist[j]!; p[j - start] = hist[j]!; }
    }
    const m = M_floor(L / nq);
    const q = new Float64Array(L);
    for (let g = 0; g < nq; g++) {
      const a = g * m;
      const b = g === nq - 1 ? L : (g + 1) * m;
      let sum = 0;
      let norm = 0;
      for (let k = a; k < b; k++) { sum += sliced[k]!; if (sliced[k] !== 0) norm++; }
      if (norm) for (let k = a; k < b; k++) if (p[k] !== 0) q[k] = sum / norm;
    }
    const ps = smooth(p);
    const qs = smooth(q);
    if (!ps || !qs) { out.push(INF); continue; }
    const sp = ps.reduce((x, y) => x + y, 0);
    const sq = qs.reduce((x, y) => x + y, 0);
    let kl = 0;
    for (let k = 0; k < L; k++) {
      const P = ps[k]! / sp;
      const Q = qs[k]! / sq;
      kl += P * M_log(P / Q);
    }
    out.push(kl);
  }
  return out;
}

export function naiveModeloptDivergences(hist: ArrayLike<number>, levels: number, startBin: number): number[] {
  const bins = Array.from(hist);
  if (bins.length > 1) bins[0] = bins[1]!;
  const n = bins.length;
  const total = bins.reduce((x, y) => x + y, 0);
  const out: number[] = [];
  for (let i = startBin; i <= n; i++) {
    const groupSum = new Float64Array(levels);
    const groupCnt = new Float64Array(levels);
    for (let j = 0; j < i; j++) {
      if (bins[j] === 0) continue;
      const g = M_floor((levels * j) / i);
      groupSum[g] = groupSum[g]! + bins[j]!;
      groupCnt[g] = groupCnt[g]! + 1;
    }
    const Q = new Float64Array(i);
    for (let j = 0; j < i; j++) if (bins[j] !== 0) { const g = M_floor((levels * j) / i); Q[j] = groupSum[g]! / groupCnt[g]!; }
    const P = bins.slice(0, i);
    for (let j = i; j < n; j++) P[i - 1] = P[i - 1]! + bins[j]!;
    const sq = Q.reduce((x, y) => x + y, 0);
    let kl = 0;
    for (let j = 0; j < i; j++) {
      const pj = P[j]! / total;
      const qj = Q[j]! / sq;
      if (pj > 0 && qj > 0) kl += pj * M_log(pj / qj);
      else if (pj > 0) kl = INF;
    }
    out.push(sq === 0 ? NaN : kl);
  }
  return out;
}
