import { addToMomentHistogram, createMomentHistogram, histogramMse, ifmrCandidates, type MomentHistogram, type IfmrCandidate } from '@qcal/collector-ifmr';
import { normal } from './helpers';

/** The bin-by-bin histogram MSE (two `level` evaluations per bin), as before the run-skipping. */
function histogramMseReference(h: MomentHistogram, c: IfmrCandidate): number {
  if (h.n === 0 || h.exp === null) return 0;
  const f32 = Math.fround;
  const { lo, hi, scale } = c;
  const w = 2 ** h.exp;
  const level = (x: number): number => {
    const v = f32((x < lo ? lo : x > hi ? hi : x) / scale);
    let r = Math.round(v);
    if (r - v === 0.5 && r % 2 !== 0) r -= 1;
    return r;
  };
  let total = 0;
  for (let j = 0; j < h.bins; j++) {
    const n = h.count[j]!;
    if (n === 0) continue;
    const S = h.sum[j]!;
    const a = (h.origin + j) * w;
    const b = a + w;
    const ka = level(a);
    const kb = level(b);
    if (ka === kb) {
      const q = f32(ka * scale);
      total += n * q * q - 2 * q * S;
      continue;
    }
    const m = a + w / 2;
    const alpha = n / w;
    const beta = (12 * (S - n * m)) / (w * w * w);
    let u = a;
    let nLeft = n;
    let sLeft = S;
    for (let k = ka; k < kb; k++) {
      const t = Math.min(Math.max((k + 0.5) * scale, a), b);
      const du1 = u - m, du2 = t - m;
      const np = alpha * (t - u) + (beta / 2) * (du2 * du2 - du1 * du1);
      const sp = m * np + (alpha / 2) * (du2 * du2 - du1 * du1) + (beta / 3) * (du2 * du2 * du2 - du1 * du1 * du1);
      const q = f32(k * scale);
      total += np * q * q - 2 * q * sp;
      nLeft -= np;
      sLeft -= sp;
      u = t;
    }
    const q = f32(kb * scale);
    total += nLeft * q * q - 2 * q * sLeft;
  }
  return Math.max((total + h.sumSq) / h.n, 0);
}

describe('histogram MSE run-skipping', () => {
  it('equals the bin-by-bin evaluation bit for bit (symmetric, asymmetric, int4, fine and coarse lattices)', () => {
    for (const bins of [1024, 8192]) {
      for (const [seed, sd, mean] of [[1, 1, 0], [2, 0.05, 0.3], [3, 4, -1]] as const) {
        const h = createMomentHistogram(bins);
        addToMomentHistogram(h, normal(40000, seed, sd, mean));
        addToMomentHistogram(h, Float32Array.from([8 * sd + mean, mean - 5 * sd, 0]));
        for (const withOffset of [false, true]) {
          for (const numBits of [8, 4]) {
            const p = { numBits, withOffset, maxPercentile: 0.999999, minPercentile: 0.999999, searchStart: 0.7, searchEnd: 1.3, searchStep: 0.01 };
            const { candidates } = ifmrCandidates(Math.max(h.max, 0), Math.min(h.min, 0), p);
            for (const c of candidates) expect(histogramMse(h, c)).toBe(histogramMseReference(h, c));
          }
        }
      }
    }
  });
});
