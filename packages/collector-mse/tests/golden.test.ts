import { runCollector, expectClose } from '@qcal/plugin-kit/testkit';
import { absHistogram } from '@qcal/collector-entropy';
import { modeloptMseAmax, mseCollector } from '@qcal/collector-mse';
import { golden, goldenBatches } from '../../../test-support/paths';

const CASES = ['constant', 'gaussian', 'gaussian_outliers', 'growing_range', 'laplace', 'relu_like', 'zeros_spike'];
interface ModeloptGolden { batches: number[][]; expected: { mse: { amax: number; diag: { best_bins: number; decision_margin_rel: number } } } }

describe('mse against golden/modelopt (Model-Optimizer 0.27 mse)', () => {
  it.each(CASES)('%s', async (name) => {
    const g = golden<ModeloptGolden>('modelopt', name);
    const t = (await runCollector(mseCollector, { batches: { t: goldenBatches(g) } })).t!;
    const e = g.expected.mse;
    // Below ~1e-4 relative margin a float32-vs-float64 sum may pick the neighbouring centre (golden README).
    if (e.diag.decision_margin_rel >= 1e-4) expect(t.bestBin).toBe(e.diag.best_bins);
    else expect(Math.abs((t.bestBin as number) - e.diag.best_bins)).toBeLessThanOrEqual(1);
    expectClose(t.max, e.amax, { rtol: e.diag.decision_margin_rel >= 1e-4 ? 1e-5 : 2e-3, atol: 1e-7 });
    expect(t.min).toBe(-t.max);
  });
});

describe('modeloptMseAmax, hand-worked', () => {
  it('one occupied level: the candidate equal to it represents it exactly and wins', () => {
    // Width-1 bins on [0, 256): all mass at centre 127.5 (bin 127). amax = 127.5: s = 127/127.5,
    // 127.5·s = 127 → 127/s = 127.5, error 0; a smaller amax clips it, a larger one rounds it off the centre.
    const edges = Float32Array.from({ length: 257 }, (_, i) => i);
    const counts = new Float64Array(256);
    counts[127] = 10;
    const r = modeloptMseAmax(counts, edges, { startBin: 100 });
    expect(r.amax).toBe(127.5);
    expect(r.index).toBe(127);
    expect(r.error).toBe(0);
  });
  it('uniform data: clipping costs more than rounding, amax stays near the max (ALGORITHMS.md §10: 0.9954)', () => {
    const data = Float32Array.from({ length: 20000 }, (_, i) => (i / 19999) * 2 - 1);
    const h = absHistogram(data, 1, 2048);
    const r = modeloptMseAmax(h.counts, h.edges);
    expect(r.amax).toBeGreaterThan(0.98);
    expect(r.amax).toBeLessThanOrEqual(1);
  });
});
