import { runCollector, expectClose } from '@qcal/plugin-kit/testkit';
import { minmaxCollector, finiteMinMax } from '@qcal/collector-minmax';
import { golden, goldenBatches } from '../../../test-support/paths';

const CASES = ['constant', 'gaussian', 'gaussian_outliers', 'growing_range', 'laplace', 'relu_like', 'zeros_spike'];

describe('minmax collector', () => {
  it.each(CASES)('reproduces golden/minmax/%s', async (name) => {
    const g = golden('minmax', name);
    const r = await runCollector(minmaxCollector, { batches: { t: goldenBatches(g) } });
    expectClose(r.t!.min, g.expected.min, { rtol: 1e-7 });
    expectClose(r.t!.max, g.expected.max, { rtol: 1e-7 });
    const sym = await runCollector(minmaxCollector, { batches: { t: goldenBatches(g) }, options: { symmetric: true } });
    expectClose(sym.t!.max, g.expected.absmax, { rtol: 1e-7 });
    expect(sym.t!.min).toBe(-sym.t!.max);
  });

  it('moving average follows m += c (batch - m) from the first batch (hand-worked)', async () => {
    // batches: [0,1], [-2,3], [4,5] with c = 0.5: min 0 → -1 → 1.5 ; max 1 → 2 → 3.5
    const r = await runCollector(minmaxCollector, {
      batches: { t: [[0, 1], [-2, 3], [4, 5]] },
      options: { movingAverage: true, averagingConstant: 0.5 },
    });
    expect(r.t).toEqual({ min: 1.5, max: 3.5 });
  });

  it('meanMinMax: the mean of per-batch min and max (NNCF MEAN_MINMAX), hand-worked; merges exactly; exclusive with movingAverage', async () => {
    // batches [0, 1], [-2, 3], [4, 5, NaN]: mins 0, -2, 4 → mean 2/3; maxes 1, 3, 5 → 3. A batch with
    // no finite value does not count.
    const batches = [[0, 1], [-2, 3], [4, 5, NaN], [NaN]];
    const r = await runCollector(minmaxCollector, { batches: { t: batches }, options: { meanMinMax: true } });
    expect(r.t!.min).toBeCloseTo(2 / 3, 12);
    expect(r.t).toMatchObject({ max: 3, nanCount: 2 });
    const make = () => minmaxCollector.create({ ...minmaxCollector.defaultOptions, meanMinMax: true }, { tensors: [], logger: console as never });
    const a1 = make(), a2 = make(), restored = make();
    batches.forEach((d, i) => (i < 2 ? a1 : a2).collect('t', 'op', { data: Float32Array.from(d), dims: [d.length] }));
    restored.merge!(JSON.parse(JSON.stringify(a1.snapshot!())));
    restored.merge!(JSON.parse(JSON.stringify(a2.snapshot!())));
    const merged = await restored.postCollect({ tensors: [], samples: 4, batches: 4, logger: console as never });
    expect(merged.t!.min).toBeCloseTo(2 / 3, 12);
    expect(merged.t!.max).toBe(3);
    expect(() => minmaxCollector.create({ ...minmaxCollector.defaultOptions, meanMinMax: true, movingAverage: true }, { tensors: [], logger: console as never })).toThrow(/set only one of them/);
  });

  it('skips NaN and infinities and counts them', async () => {
    const r = await runCollector(minmaxCollector, { batches: { t: [[NaN, 1, -Infinity], [Infinity, -3, NaN]] } });
    expect(r.t).toEqual({ min: -3, max: 1, nanCount: 2, infCount: 2 });
    expect(finiteMinMax(new Float32Array([NaN]))).toEqual({ min: Infinity, max: -Infinity, nan: 1, inf: 0 });
  });

  it('gives a defined range [0, 0] for a tensor without any finite value', async () => {
    const r = await runCollector(minmaxCollector, { batches: { t: [[NaN, NaN]] } });
    expect(r.t).toMatchObject({ min: 0, max: 0, nanCount: 2 });
  });

  it('snapshot + merge equals one run over all batches', async () => {
    const g = golden('minmax', 'growing_range');
    const b = goldenBatches(g);
    const a1 = minmaxCollector.create(minmaxCollector.defaultOptions, { tensors: [], logger: console as never });
    const a2 = minmaxCollector.create(minmaxCollector.defaultOptions, { tensors: [], logger: console as never });
    b.forEach((d, i) => (i < 1 ? a1 : a2).collect('t', 'op', { data: d, dims: [d.length] }));
    const restored = minmaxCollector.create(minmaxCollector.defaultOptions, { tensors: [], logger: console as never });
    restored.merge!(JSON.parse(JSON.stringify(a1.snapshot!())));
    restored.merge!(JSON.parse(JSON.stringify(a2.snapshot!())));
    const merged = await restored.postCollect({ tensors: [], samples: 3, batches: 3, logger: console as never });
    expectClose(merged.t!.min, g.expected.min, { rtol: 1e-7 });
    expectClose(merged.t!.max, g.expected.max, { rtol: 1e-7 });
  });
});
