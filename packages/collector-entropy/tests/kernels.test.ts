import { mulberry32 } from '@qcal/plugin-kit';
import { expectClose } from '@qcal/plugin-kit/testkit';
import {
  entropyCollector, histogramInto, linspaceEdges32, modeloptKlThreshold, mxnetKlThreshold, pythonFloorDiv, scanFinite,
  signedHistogram, growthFor, histcAbsInto, histogramScanInto, histogramScanIntoJs, histogramIntoJs, addToSignedHistogram,
} from '@qcal/collector-entropy';
import { decodeFloat64 } from '@qcal/plugin-kit';
import { runCollector } from '@qcal/plugin-kit/testkit';
import { naiveModeloptDivergences, naiveMxnetDivergences } from './naive-kl';

/** Deterministic PRNG (mulberry32) so the property tests are reproducible. */
const rng = mulberry32;
function gaussian(r: () => number, n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = scale * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  return out;
}

describe('scanFinite', () => {
  it('leaves NaN and ±Infinity out of min/max/absMax and counts them', () => {
    expect(scanFinite(new Float32Array([NaN, -2, Infinity, 1, -Infinity, NaN]))).toEqual({ min: -2, max: 1, absMax: 2, finite: 2, nan: 2, inf: 2 });
    expect(scanFinite(new Float32Array([NaN]))).toMatchObject({ finite: 0, absMax: 0, nan: 1 });
  });
});

describe('numpy histogram', () => {
  it('hand-worked: 5 bins over [-1, 1], right-closed last bin, edges as float32 linspace', () => {
    const edges = linspaceEdges32(-1, 1, 5);
    expect(Array.from(edges)).toEqual([-1, -0.6000000238418579, -0.20000000298023224, 0.20000000298023224, 0.6000000238418579, 1]);
    const c = new Float64Array(5);
    // -1 → bin 0; -0.6 (float32 of -0.6 equals edge 1) → bin 1; 0 → bin 2; 0.2f → bin 3; 1 → bin 4 (closed)
    histogramInto(c, edges, new Float32Array([-1, -0.6, 0, 0.2, 1, NaN, Infinity, 2]));
    expect(Array.from(c)).toEqual([1, 1, 1, 1, 1]);
  });

  it('Python floor division, as combine_histogram sizes the growth', () => {
    expect(pythonFloorDiv(7, 2)).toBe(3);
    expect(pythonFloorDiv(0.3, 0.1)).toBe(2); // 0.3 // 0.1 == 2.0 in Python, although 0.3 / 0.1 = 2.9999999999999996
    expect(pythonFloorDiv(1, 0.1)).toBe(9); // Python: 1 // 0.1 == 9.0 while Math.floor(1 / 0.1) == 10
    const g = growthFor(1, 5, 1.5); // step 0.4: half = int(0.5 // 0.4 + 1) = 2
    expect(g).toEqual({ half: 2, th: 1.8, numBins: 9 });
  });

  it('histc of |x| (torch float32 arithmetic)', () => {
    const c = new Float64Array(4);
    histcAbsInto(c, new Float32Array([0, -0.25, 0.5, -1, 0.99, 2, NaN]), 0, 1);
    expect(Array.from(c)).toEqual([1, 1, 1, 2]);
  });
});

describe('mxnet KL search', () => {
  it('equals a straightforward O(n²) evaluation (float64) on random, sparse and outlier histograms', () => {
    const r = rng(7);
    for (let t = 0; t < 6; t++) {
      const n = 301 + 2 * Math.floor(r() * 100);
      const hist = new Float64Array(n);
      const sparse = t % 3 === 2;
      for (let k = 0; k < n; k++) {
        const x = (k - (n >> 1)) / (n / 8);
        hist[k] = sparse ? (r() < 0.03 ? 1 + Math.floor(r() * 5) : 0) : Math.floor(1000 * Math.exp(-x * x / 2) * r());
      }
      if (t === 1) { hist[0] = 3; hist[n - 1] = 2; } // outliers at both ends
      const edges = linspaceEdges32(-1, 1, n);
      const naive = naiveMxnetDivergences(hist, 31);
      const fast = mxnetKlThreshold(hist, edges, 31, 'float64');
      let bi = 0;
      for (let k = 1; k < naive.length; k++) if (naive[k]! < naive[bi]!) bi = k;
      expect(fast.index).toBe(bi + 15);
      expectClose(fast.divergence, naive[bi]!, { rtol: 1e-9 });
    }
  });

  it('threshold is the right edge of the winning slice and lies in (0, absmax]', () => {
    const r = rng(3);
    const h = signedHistogram(gaussian(r, 20000), 4.5, 8001);
    const res = mxnetKlThreshold(h.counts, h.edges, 255);
    expect(res.threshold).toBe(h.edges[4000 + res.index + 1]);
    expect(res.threshold).toBeGreaterThan(0);
    expect(res.threshold).toBeLessThanOrEqual(4.5);
  });
});

describe('modelopt KL search', () => {
  it('equals a straightforward evaluation, last minimum, NaN as the minimum', () => {
    const r = rng(11);
    const hist = new Float64Array(400);
    for (let k = 0; k < 400; k++) hist[k] = Math.floor(500 * Math.exp(-k / 60) * r());
    hist[399] = 2;
    const edges = Float32Array.from({ length: 401 }, (_, k) => k * 0.01);
    const naive = naiveModeloptDivergences(hist, 128, 128);
    let bi = naive.length - 1;
    for (let k = naive.length - 1; k >= 0; k--) if (naive[k]! < naive[bi]!) bi = k;
    const res = modeloptKlThreshold(hist, edges, { numBits: 8, unsigned: false, startBin: 128, stride: 1 });
    expect(res.index).toBe(bi + 128);
    expectClose(res.divergence, naive[bi]!, { rtol: 1e-9 });
    // All mass in the last bin: every candidate but the full one has Q = 0 → NaN; the last NaN wins.
    const spike = new Float64Array(300);
    spike[299] = 10;
    const s = modeloptKlThreshold(spike, Float32Array.from({ length: 301 }, (_, k) => k), { numBits: 8, unsigned: false, startBin: 128, stride: 1 });
    expect(s.index).toBe(299);
    expect(Number.isNaN(s.divergence)).toBe(true);
  });
});

describe('entropy collector edge cases', () => {
  it('NaN and ±Infinity are ignored for the histogram and reported as counts', async () => {
    const r = rng(5);
    const clean = gaussian(r, 5000);
    const dirty = new Float32Array(clean.length + 4);
    dirty.set(clean);
    dirty.set([NaN, Infinity, -Infinity, NaN], clean.length);
    for (const mode of ['mxnet', 'tensorrt']) {
      const a = (await runCollector(entropyCollector, { batches: { t: [clean] }, options: { mode } })).t!;
      const b = (await runCollector(entropyCollector, { batches: { t: [dirty] }, options: { mode } })).t!;
      expect(b.max).toBe(a.max);
      expect(b).toMatchObject({ nanCount: 2, infCount: 2 });
    }
  });

  it('an all-zero tensor gives (0, 0); zeros before the first non-zero batch land in the zero bin', async () => {
    const z = (await runCollector(entropyCollector, { batches: { t: [new Float32Array(100)] } })).t!;
    expect(z).toMatchObject({ min: 0, max: 0, threshold: 0 });
    const r = rng(9);
    const data = gaussian(r, 4000);
    const a = (await runCollector(entropyCollector, { batches: { t: [new Float32Array(300), data] }, options: { quantizedDtype: 'int8' } })).t!;
    const withZeros = new Float32Array(4300);
    withZeros.set(data);
    const b = (await runCollector(entropyCollector, { batches: { t: [withZeros] }, options: { quantizedDtype: 'int8' } })).t!;
    expect(a.max).toBe(b.max);
  });

  it('a constant tensor gets a finite range at its value (mxnet: |c|; tensorrt: the last NaN candidate)', async () => {
    for (const c of [0.5, -0.5, 3]) {
      const batches = { t: [new Float32Array(1000).fill(c), new Float32Array(10).fill(c)] };
      const m = (await runCollector(entropyCollector, { batches, options: { quantizedDtype: 'int8' } })).t!;
      expectClose(m.max, Math.abs(c), { rtol: 1e-6 });
      expect(m.min).toBe(-m.max);
      const t = (await runCollector(entropyCollector, { batches, options: { mode: 'tensorrt', quantizedDtype: 'int8' } })).t!;
      expect(Number.isFinite(t.max) && t.max > 0 && t.max <= Math.abs(c)).toBe(true);
    }
  });

  it('threshold is within (0, absmax] and does not decrease when outliers are added (property)', async () => {
    const r = rng(21);
    for (let trial = 0; trial < 2; trial++) {
      const base = gaussian(r, 3000, 0.5 + r());
      let prev = 0;
      for (const k of [0, 10, 60]) {
        const d = new Float32Array(base.length + k);
        d.set(base);
        for (let j = 0; j < k; j++) d[base.length + j] = (j % 2 ? -1 : 1) * (3 + 3 * r());
        const absMax = scanFinite(d).absMax;
        for (const mode of ['mxnet', 'tensorrt']) {
          const t = (await runCollector(entropyCollector, { batches: { t: [d] }, options: { mode, quantizedDtype: 'int8' } })).t!;
          expect(t.max).toBeGreaterThan(0);
          expect(t.max).toBeLessThanOrEqual(absMax * (1 + 1e-6));
          if (mode === 'mxnet') { expect(t.max).toBeGreaterThanOrEqual(prev * (1 - 0.01)); prev = t.max; }
        }
      }
    }
  });

  it('tensors with the same histogram (searched once) each get the range they get alone', async () => {
    const r = rng(11);
    const a = [gaussian(r, 3000), gaussian(r, 2000, 3)];
    const c = [gaussian(r, 3000, 0.5), gaussian(r, 2000, 2)];
    const relu = a.map((x) => x.map((v) => Math.max(v, 0)));
    for (const mode of ['mxnet', 'tensorrt'] as const) {
      // b, d: copies of a; e: a's non-negative part (another histogram and, in mxnet mode, another nq).
      const together = await runCollector(entropyCollector, { options: { mode, threads: 1 }, batches: { c, a, e: relu, b: a.map((x) => x.slice()), d: a } });
      for (const [name, batches] of [['a', a], ['c', c], ['e', relu]] as const) {
        const alone = await runCollector(entropyCollector, { options: { mode, threads: 1 }, batches: { [name]: batches } });
        expect(together[name]).toEqual(alone[name]);
      }
      expect([together.b, together.d]).toEqual([together.a, together.a]);
      expect(together.c!.max).not.toBe(together.a!.max);
    }
  });

  it('rejects an even bin count in mxnet mode with a message that says what to do', () => {
    expect(() => entropyCollector.create({ ...entropyCollector.defaultOptions, numBins: 8000 }, { tensors: [], logger: console as never })).toThrow(/odd.*8001/);
  });
});

describe('fused histogram + scan (collect fast path)', () => {
  it('equals scanFinite + histogramInto when the batch fits, and stops at the first value outside', () => {
    const r = rng(17);
    const edges = linspaceEdges32(-3, 3, 801);
    const data = gaussian(r, 20000, 0.8).map((v) => Math.max(-3, Math.min(3, v)));
    data.set([NaN, Infinity, -Infinity, 3, -3, Math.fround(3)], 100);
    const a = new Float64Array(801);
    const b = new Float64Array(801);
    histogramInto(a, edges, data);
    const fused = histogramScanInto(b, edges, data, 3);
    expect(fused).toEqual({ ...scanFinite(data), stoppedAt: -1 });
    expect(Array.from(b)).toEqual(Array.from(a));
    // a value beyond the float64 limit (even one equal to the float32 edge above it) stops the pass
    const th = 0.1; // Math.fround(0.1) > 0.1
    const e2 = linspaceEdges32(-th, th, 11);
    const d2 = Float32Array.from([0.05, -0.02, Math.fround(0.1), 0.01]);
    const c2 = new Float64Array(11);
    const s2 = histogramScanIntoJs(c2, e2, d2, th);
    expect(s2.stoppedAt).toBe(2);
    histogramIntoJs(c2, e2, d2.subarray(0, 2), -1);
    expect(Array.from(c2).every((x) => x === 0)).toBe(true);
    // histogramScanInto leaves the counts as they were when it stops
    const c3 = new Float64Array(11);
    expect(histogramScanInto(c3, e2, d2, th).stoppedAt).toBe(2);
    expect(Array.from(c3).every((x) => x === 0)).toBe(true);
  });

  it('the collector keeps the same histograms as the scan-then-fill kernels (growing batches, NaN, zeros)', () => {
    const r = rng(23);
    const batches = [gaussian(r, 5000, 1), gaussian(r, 5000, 0.5), gaussian(r, 5000, 2), new Float32Array(300), gaussian(r, 5000, 1.9)];
    batches[1]![7] = NaN;
    batches[4]![9] = -Infinity;
    const c = entropyCollector.create({ ...entropyCollector.defaultOptions, numBins: 2001 }, { tensors: [], logger: console as never });
    for (const b of batches) void c.collect('t', 'op', { data: b, dims: [b.length] } as never);
    let h = signedHistogram(batches[0]!, scanFinite(batches[0]!).absMax, 2001);
    for (const b of batches.slice(1)) h = addToSignedHistogram(h, b, scanFinite(b));
    const snap = c.snapshot!() as { tensors: { t: { counts: Parameters<typeof decodeFloat64>[0]; th: number } } };
    expect(snap.tensors.t.th).toBe(h.th);
    expect(Array.from(decodeFloat64(snap.tensors.t.counts))).toEqual(Array.from(h.counts));
  });
});
