import { mulberry32 } from '@qcal/plugin-kit';
import { runCollector } from '@qcal/plugin-kit/testkit';
import {
  addToTpumlirHistogram, entropyCollector, floorDivF32, tpumlirHistogram, tpumlirKlThreshold, tpumlirPadHistogram,
} from '@qcal/collector-entropy';

const F = Math.fround;

/** Direct transcription of tpu-mlir's kl_calc_thread + the_min_index (float32 emulated with fround), no shortcuts. */
function naiveTpumlir(hist: Float64Array, width: number, bins = 128): { kl: number[]; m: number; th: number } {
  const N = hist.length;
  let count = 0;
  for (const h of hist) count += h;
  const kl: number[] = [];
  for (let i = bins; i <= N; i += bins) {
    const P = new Array<number>(i).fill(0);
    for (let j = 0; j < N; j++) { const ix = j > i - 1 ? i - 1 : j; P[ix] = F(P[ix]! + hist[j]!); }
    for (let j = 0; j < i; j++) P[j] = F(P[j]! / F(count));
    let sum = 0;
    for (let j = 0; j < i; j++) sum = F(sum + hist[j]!);
    const e = i / bins;
    const Q = new Array<number>(i).fill(0);
    let idx = 0;
    for (let g = 0; g < bins; g++) {
      let sb = 0;
      let pc = 0;
      const b0 = idx;
      for (let k = 0; k < e; k++) { sb = F(sb + hist[idx]!); pc += hist[idx]! > 0 ? 1 : 0; idx++; }
      if (pc === 0) pc = 1;
      const qb = F(F(sb / pc) / sum);
      for (let b = b0; b < idx; b++) Q[b] = hist[b] ? qb : 0;
    }
    let acc = 0;
    for (let j = 0; j < i; j++) acc = F(acc + P[j]! * (Math.log10(P[j]! + 1e-30) - Math.log10(Q[j]! + 1e-30)));
    kl.push(acc);
  }
  let m = 0;
  for (let k = 1; k < kl.length; k++) if (kl[m]! > kl[k]!) m = k;
  return { kl, m, th: F(F(F(width) * (m + 1)) * bins) };
}

describe('tpumlir kernels', () => {
  it('floorDivF32 follows the fmod-based floor division', () => {
    expect(floorDivF32(7, 2)).toBe(3);
    expect(floorDivF32(-7, 2)).toBe(-4);
    expect(floorDivF32(1, F(0.1))).toBe(9); // 1 // 0.1 is 9 in Python (fmod rule), not 10
    expect(floorDivF32(F(1), F(1 / 2048))).toBe(2048);
  });

  it('first histogram: |x| with zeros, NaN and ±Infinity removed, bins centred on k·w', () => {
    // w = f32(2047/2047) = 1: |x| = 0.49 -> bin 0, 0.5 -> bin 1 (floor(x+0.5)), 3 -> bin 3, 2047 -> bin 2047.
    const h = tpumlirHistogram(new Float32Array([0, 0, -0.49, 0.5, -3, 2047, NaN, Infinity]), 2047, 2048);
    expect(h.width).toBe(1);
    expect(h.counts[0]).toBe(1);
    expect(h.counts[1]).toBe(1);
    expect(h.counts[3]).toBe(1);
    expect(h.counts[2047]).toBe(1);
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(4);
  });

  it('growth: old_step = th/len (not th/(len-1)), whole bins, old counts added index-wise', () => {
    const h0 = tpumlirHistogram(new Float32Array([1, 0.25]), 1, 2048);
    const h = addToTpumlirHistogram(h0, new Float32Array([2]), 2, 2048);
    // step = f32(1/2048); half = int((2-1)//step + 1) = 2049; th = 2049·step + 1
    expect(h.counts.length).toBe(2048 + 2049);
    expect(h.th).toBe(F(2049 / 2048 + 1));
    expect(h.width).toBe(F(h.th / 4096));
    expect(h.counts[2047]).toBe(1); // old |x| = 1 stays in its old bin index
    expect(h.counts[512]).toBe(1); // old 0.25: k = floor(511.75 + 0.5) = 512
    // new 2: k = floor(2/w + 0.5) = 4095 = n−2; at n = 4097 NumPy's float32 edge 4096·4096/4097 still
    // rounds above 4095, so it stays in bin 4095 (the shift below starts at n = 4098)
    expect(Math.floor(F(F(2 / h.width) + 0.5))).toBe(4095);
    expect(h.counts[4095]).toBe(1);
  });

  it('np.histogram\'s float32 edges round onto the integers for long grids: k = n−2 lands in bin n−1', () => {
    // Checked with NumPy 2.4.6: np.histogram(float32([4377, 4376, 5]), 4379, range=(0, 4378)) -> bins 4378, 4376, 5
    const h = tpumlirHistogram(new Float32Array([4377, -4376, 5]), 4378, 4379);
    expect(h.width).toBe(1);
    expect(h.counts[4377]).toBe(0);
    expect(h.counts[4378]).toBe(1);
    expect(h.counts[4376]).toBe(1);
    expect(h.counts[5]).toBe(1);
  });

  it('within the grid the batch is binned with the stored width', () => {
    const h = tpumlirHistogram(new Float32Array([1]), 1, 2048);
    const same = addToTpumlirHistogram(h, new Float32Array([-0.5, 0]), 1, 2048);
    expect(same).toBe(h);
    expect(h.counts[1024]).toBe(1); // 0.5·2047 = 1023.5 -> floor(1024.0) = 1024
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('a grid that would pass maxBins (8e6 upstream) is discarded: only the new batch, numBins bins', () => {
    const h0 = tpumlirHistogram(new Float32Array([1, 0.5]), 1, 2048);
    const h = addToTpumlirHistogram(h0, new Float32Array([4, 2]), 4, 2048, 5000);
    expect(h.counts.length).toBe(2048);
    expect(h.th).toBe(4);
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(2);
    expect(h.counts[2047]).toBe(1);
  });

  it('padding to a multiple of 128, and pair-summing (width doubled) above 131072 bins', () => {
    expect(tpumlirPadHistogram(new Float64Array(2049), 0.5).counts.length).toBe(2176);
    const big = new Float64Array(140000);
    big[0] = 1; big[1] = 2; big[139999] = 5;
    const p = tpumlirPadHistogram(big, 0.25);
    expect(p.counts.length).toBe(70016);
    expect(p.width).toBe(0.5);
    expect(p.counts[0]).toBe(3);
    expect(p.counts[69999]).toBe(5);
  });

  it('the search equals a direct transcription of calibration_math.cpp on random sparse histograms', () => {
    const r = mulberry32(11);
    for (let t = 0; t < 12; t++) {
      const n = 128 * (1 + Math.floor(r() * 20));
      const hist = new Float64Array(n);
      const density = t === 3 ? 1 : [0.02, 0.3, 1][t % 3]!;
      for (let j = 0; j < n; j++) if (r() < density) hist[j] = Math.floor(r() * (t % 4 === 3 ? 3e5 : 1000) * Math.exp(-j / (n / 4)));
      if (t === 5) hist.fill(0, 0, 256); // empty head: Σ_{j<i} = 0 for the first candidates
      hist[n - 1] = hist[n - 1]! + 1;
      const w = 0.001 + r();
      if (t === 3) expect(hist.reduce((x, y) => x + y, 0)).toBeGreaterThan(2 ** 24); // float32 tails path
      const got = tpumlirKlThreshold(hist, w, 1e9);
      const ref = naiveTpumlir(hist, w);
      expect(Array.from(got.divergences)).toEqual(ref.kl.map((v) => F(v)));
      expect(got.index).toBe(ref.m);
      expect(got.thresholdRaw).toBe(ref.th);
    }
  });

  it('rejects a histogram that is not a multiple of dstBins', () => {
    expect(() => tpumlirKlThreshold(new Float64Array(100), 1, 1)).toThrow(/multiple of 128/);
  });
});

describe('tpumlir collector', () => {
  it('deploy range: (−T, T) when min < 0, (0, T) otherwise; T capped at abs_max', async () => {
    const pos = (await runCollector(entropyCollector, { batches: { t: [new Float32Array([0, 1, 2, 3])] }, options: { mode: 'tpumlir' } })).t!;
    expect(pos.min).toBe(0);
    expect(pos.max).toBe(3); // T = w·2048 > abs_max: capped
    const neg = (await runCollector(entropyCollector, { batches: { t: [new Float32Array([-0.001, 1, 2, 3])] }, options: { mode: 'tpumlir' } })).t!;
    expect(neg.min).toBe(-3);
    expect(neg).toMatchObject({ caliMin: F(-0.001), caliMax: 3, mode: 'tpumlir' });
  });

  it('a sample with max|x| < 1e-8 is skipped for the histogram but counts for min/max; all-tiny gives (0, 0)', async () => {
    const tiny = new Float32Array([-5e-9, 1e-9]);
    const out = await runCollector(entropyCollector, {
      batches: { t: [tiny, new Float32Array([0.5, -0.25])], z: [tiny, new Float32Array([0, 0])] },
      options: { mode: 'tpumlir' },
    });
    expect(out.z).toMatchObject({ min: 0, max: 0, threshold: 0, numBins: 0, caliMin: F(-5e-9) });
    expect(out.t!.numBins).toBe(2048);
    expect(out.t!.caliMin).toBe(-0.25);
    expect(out.t!.max).toBe(0.5);
  });

  it('cannot be sharded: no snapshot()/merge() on a tpumlir instance (the runner refuses before inference)', () => {
    const c = entropyCollector.create({ ...entropyCollector.defaultOptions, mode: 'tpumlir' }, { tensors: [], logger: console as never });
    expect(c.snapshot).toBeUndefined();
    expect(c.merge).toBeUndefined();
    const m = entropyCollector.create({ ...entropyCollector.defaultOptions, mode: 'mxnet' }, { tensors: [], logger: console as never });
    expect(typeof m.snapshot).toBe('function');
  });
});
