import { runCollector, expectClose } from '@qcal/plugin-kit/testkit';
import { absFinite, addToOrtAbsHistogram, ortAbsHistogram, ortPercentileRange, percentileCollector, numpyArangeF32, type OrtAbsHistogram } from '@qcal/collector-percentile';
import { golden, goldenBatches } from '../../../test-support/paths';

const CASES = ['constant', 'gaussian', 'gaussian_outliers', 'growing_range', 'laplace', 'relu_like', 'zeros_spike'];
type Expect = { rmin: number; rmax: number; diag: { index: number; num_bins_final: number; dropped_below_first_edge: number } };
interface OrtGolden { batches: number[][]; params: { num_bins: number }; expected: Record<string, Expect> & { per_batch_histogram: { hist: number[] } } }

function histogramOf(batches: Float32Array[], numBins: number): OrtAbsHistogram {
  let h: OrtAbsHistogram | undefined;
  for (const b of batches) h = h ? addToOrtAbsHistogram(h, absFinite(b)) : ortAbsHistogram(absFinite(b), numBins);
  return h!;
}
const minMax = (bs: Float32Array[]): [number, number] => [Math.min(...bs.map((b) => Math.min(...b))), Math.max(...bs.map((b) => Math.max(...b)))];
const concat = (bs: Float32Array[]): Float32Array => { const o = new Float32Array(bs.reduce((n, b) => n + b.length, 0)); let k = 0; for (const b of bs) { o.set(b, k); k += b.length; } return o; };

describe('percentile (onnxruntime) against golden/ort_percentile', () => {
  it.each(CASES)('%s: histogram, index and range, per batch and concatenated', async (name) => {
    const g = golden<OrtGolden>('ort_percentile', name);
    const batches = goldenBatches(g);
    const [lo, hi] = minMax(batches);
    for (const [flow, bs] of [['per_batch', batches], ['concatenated', [concat(batches)]]] as const) {
      const h = histogramOf([...bs], g.params.num_bins);
      if (flow === 'per_batch') expect(Array.from(h.counts)).toEqual(g.expected.per_batch_histogram.hist);
      for (const p of [99.999, 99.9]) {
        const e = g.expected[`${flow}_p${p}`]!;
        const r = ortPercentileRange(h, p, lo, hi);
        expect(h.counts.length).toBe(e.diag.num_bins_final);
        expect(h.dropped).toBe(e.diag.dropped_below_first_edge);
        expect(r.index).toBe(e.diag.index);
        expectClose(r.min, e.rmin, { rtol: 1e-5, atol: 1e-7 });
        expectClose(r.max, e.rmax, { rtol: 1e-5, atol: 1e-7 });
      }
    }
    // Through the collector contract (collect per batch): the per-batch flow.
    const t = (await runCollector(percentileCollector, { batches: { t: batches } })).t!;
    expectClose(t.min, g.expected['per_batch_p99.999']!.rmin, { rtol: 1e-5, atol: 1e-7 });
    expectClose(t.max, g.expected['per_batch_p99.999']!.rmax, { rtol: 1e-5, atol: 1e-7 });
  });
});

interface ModeloptGolden { batches: number[][]; expected: Record<string, { amax: number; diag: { index: number } }> }

describe('percentile (modelopt mode) against golden/modelopt', () => {
  it.each(CASES)('%s: percentile 99.99 and 99.9 amax', async (name) => {
    const g = golden<ModeloptGolden>('modelopt', name);
    for (const p of [99.99, 99.9]) {
      const t = (await runCollector(percentileCollector, { batches: { t: goldenBatches(g) }, options: { mode: 'modelopt', percentile: p } })).t!;
      expectClose(t.max, g.expected[`percentile_${p}`]!.amax, { rtol: 1e-5, atol: 1e-7 });
      expect(t.min).toBe(-t.max);
    }
  });
});

describe('kernels, hand-worked', () => {
  it('np.arange in float32: length from the float32 difference, start + i·delta', () => {
    expect(Array.from(numpyArangeF32(1, 2, 0.25))).toEqual([1, 1.25, 1.5, 1.75]);
    expect(numpyArangeF32(2, 1, 0.25).length).toBe(0);
  });
  it('left edge of the crossing bin; clipped to the signed data range', () => {
    // |x| = 1..10 on 9 bins [1,2),…,[9,10]: 90% of the mass is reached in bin 8 ([9,10], left edge 9).
    const abs = Float32Array.from({ length: 10 }, (_, i) => i + 1);
    const h = ortAbsHistogram(abs, 9);
    expect(Array.from(h.counts)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 2]);
    expect(ortPercentileRange(h, 90, -10, 10)).toMatchObject({ index: 8, min: -9, max: 9 });
    expect(ortPercentileRange(h, 90, 0, 10)).toMatchObject({ min: 0, max: 9 }); // ReLU data: (0, t)
  });
  it('NaN and ±Infinity are left out and counted; all-NaN gives the point 0', async () => {
    const r = await runCollector(percentileCollector, { batches: { a: [Float32Array.from([NaN, Infinity, -1, 1])], b: [Float32Array.from([NaN])] } });
    expect(r.a).toMatchObject({ nanCount: 1, infCount: 1 });
    expect(r.a!.max).toBeLessThanOrEqual(1);
    expect(r.b).toMatchObject({ min: 0, max: 0, nanCount: 1 });
  });
});
