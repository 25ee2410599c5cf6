// Globals bound once: in a vm context (jest) each global lookup in a hot loop costs ~300 ns.
const { floor: M_floor, log: M_log } = Math;
const INF = Infinity;

const f32 = Math.fround;
const EPS32 = Math.fround(1e-4);

/** Scratch buffers for {@link mxnetDivergenceF32}, reused across candidates (no per-candidate allocation). */
export interface F32Scratch { p: Float32Array; q: Float32Array; sliced: Float32Array }

export function f32Scratch(numBins: number): F32Scratch {
  return { p: new Float32Array(numBins), q: new Float32Array(numBins), sliced: new Float32Array(numBins) };
}

/** SmoothDistribution(eps = 1e-4) in float32, in place; false when the reference returns empty. */
function smoothF32(d: Float32Array, len: number): boolean {
  let zeros = 0;
  for (let k = 0; k < len; k++) if (d[k] === 0) zeros++;
  const nonzeros = len - zeros;
  if (nonzeros === 0) return false;
  const eps1 = f32(f32(EPS32 * zeros) / nonzeros);
  if (eps1 >= 1) return false;
  for (let k = 0; k < len; k++) d[k] = d[k] === 0 ? EPS32 : d[k]! - eps1;
  return true;
}

/**
 * The divergence of candidate `i` exactly as the reference C++ computes it (TVM `MinimizeKL`, MXNet
 * `CalibrateComputeCPU`): every sum sequential in float32, `logf` per bin (emulated as the
 * correctly rounded float32 of the double log). O(slice) per candidate. Float32 rounding of these
 * long sums moves the divergence by up to ~1e-3 relative on large histograms, enough to move the
 * argmin, so reproducing the reference's choice needs this arithmetic, not better arithmetic.
 * Returns Infinity where the reference does (q invalid) and where it would crash (p invalid).
 */
export function mxnetDivergenceF32(hist: ArrayLike<number>, i: number, nq: number, s: F32Scratch): number {
  const sums = mxnetSmoothedF32(hist, i, nq, s);
  if (!sums) return INF;
  const { p, q } = s;
  const { ps, qs, len: L } = sums;
  let r = 0;
  for (let k = 0; k < L; k++) {
    const pk = f32(p[k]! / ps);
    const qk = f32(q[k]! / qs);
    if (pk !== 0 && qk !== 0) r = f32(r + f32(pk * f32(M_log(f32(pk / qk)))));
  }
  return r;
}

/**
 * The reference's smoothed p and q of candidate `i` (left in `s.p`, `s.q`) and their float32
 * sums; undefined where the reference gives up (q or p invalid). O(slice), no logarithms.
 */
export function mxnetSmoothedF32(hist: ArrayLike<number>, i: number, nq: number, s: F32Scratch): { ps: number; qs: number; len: number } | undefined {
  const n = hist.length;
  const zero = n >> 1;
  const start = zero - i;
  const stop = zero + i + 1;
  const L = stop - start;
  const { p, q, sliced } = s;
  let p0 = 0;
  for (let j = 0; j <= start; j++) p0 = f32(p0 + hist[j]!);
  p[0] = p0;
  sliced[0] = 0;
  for (let k = 1; k < L; k++) { const h = hist[start + k]!; p[k] = h; sliced[k] = h; }
  // p.back() accumulates in j order: hist[stop-1] is added first, then the right outliers.
  { let acc = hist[stop - 1]!; for (let j = stop; j < n; j++) acc = f32(acc + hist[j]!); p[L - 1] = acc; }
  const m = M_floor(L / nq);
  q.fill(0, 0, L);
  for (let g = 0; g < nq; g++) {
    const a = g * m;
    const b = g === nq - 1 ? L : (g + 1) * m;
    // integer accumulation (exact), then float
    let qb = 0;
    let norm = 0;
    for (let k = a; k < b; k++) { const v = sliced[k]!; qb += v; if (v !== 0) norm++; }
    if (g === nq - 1) {
      // quantized_bins.back() = sum of its m bins, then += the remainder (float += int)
      let head = 0;
      for (let k = a; k < a + m; k++) head += sliced[k]!;
      qb = f32(f32(head) + (qb - head));
    } else qb = f32(qb);
    if (norm) {
      const v = f32(qb / norm);
      for (let k = a; k < b; k++) if (p[k] !== 0) q[k] = v;
    }
  }
  if (!smoothF32(q, L)) return undefined;
  if (!smoothF32(p, L)) return undefined;
  let ps = 0;
  let qs = 0;
  for (let k = 0; k < L; k++) ps = f32(ps + p[k]!);
  for (let k = 0; k < L; k++) qs = f32(qs + q[k]!);
  return { ps, qs, len: L };
}
