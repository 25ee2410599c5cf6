import { runCollector, expectClose } from '@qcal/plugin-kit/testkit';
import { silentLogger, validateOptions } from '@qcal/plugin-kit';
import defaultExport, { hfmgCollector, collectors, hfmgSearch, hfmgLoss, binMoments, floorDivF32 } from '@qcal/collector-hfmg';
import { golden, goldenBatches } from '../../../test-support/paths';

const CASES = ['constant', 'gaussian', 'gaussian_outliers', 'growing_range', 'laplace', 'relu_like', 'zeros_spike'];

function create(options: Record<string, unknown> = {}) {
  const { options: o, problems } = validateOptions(hfmgCollector.optionsSchema, hfmgCollector.defaultOptions, options, 'hfmg');
  if (problems.length) throw new Error(problems.join('\n'));
  return hfmgCollector.create(o, { tensors: [], logger: silentLogger });
}
const post = { tensors: [], samples: 0, batches: 0, logger: silentLogger };

describe('hfmg collector', () => {
  it('is exported as plugin data', () => {
    expect(hfmgCollector.name).toBe('hfmg');
    expect(collectors).toEqual([hfmgCollector]);
    expect(defaultExport).toBe(hfmgCollector);
    expect(hfmgCollector.defaultOptions).toEqual({ numOfBins: 4096, withOffset: false, batchNum: 0, numBits: 8 });
  });

  it.each(CASES)('reproduces golden/amct_hfmg/%s through the collector (4 variants)', async (name) => {
    const g = golden('amct_hfmg', name);
    for (const v of ['symmetric', 'asymmetric', 'symmetric_int4', 'asymmetric_int4']) {
      const p = g.params[v];
      const e = g.expected[v];
      const r = await runCollector(hfmgCollector, { batches: { t: goldenBatches(g) }, options: { withOffset: p.with_offset, numBits: p.num_bits, numOfBins: p.nbins, batchNum: p.batch_num } });
      expectClose(r.t!.min, e.clip_min, { rtol: 1e-5, atol: 1e-7 });
      expectClose(r.t!.max, e.clip_max, { rtol: 1e-5, atol: 1e-7 });
      expectClose(r.t!.scale as number, e.scale, { rtol: 1e-5 });
      expect(r.t!.offset).toBe(e.offset);
      expectClose(r.t!.rangeMax as number, e.range_max, { rtol: 1e-5, atol: 1e-7 });
    }
  });

  it('batchNum limits the histogram to the leading batches', async () => {
    const r = await runCollector(hfmgCollector, { batches: { t: [[-1, 0, 1], [50, -50]] }, options: { batchNum: 1 } });
    expect(r.t!.max).toBeLessThan(2);
  });

  it('hand-worked: uniform data on 256 symmetric levels keeps the full range', async () => {
    const data = Float32Array.from({ length: 25600 }, (_, i) => -1 + (2 * (i + 0.5)) / 25600);
    const r = await runCollector(hfmgCollector, { batches: { t: [data] }, options: { withOffset: true } });
    // Uniform density: any clipping costs more than the step error it saves, so the first candidate wins.
    expectClose(r.t!.rangeMin as number, data[0]!, { rtol: 1e-6 });
    expect(r.t!.rangeMax as number).toBeGreaterThan(0.99);
  });

  it('L2 loss: a bin exactly on one destination bin costs ∫(x − c)² = w³/12 · density', () => {
    // 256 source bins of width 1 → 256 destination bins of width 1: each bin centred on its level.
    const counts = new Float64Array(1024);
    counts[0] = 12;
    expectClose(hfmgLoss(counts, 1, 0, 255, 256, binMoments(counts)), 1, { rtol: 1e-12 }); // 12·(1/12)
    expect(floorDivF32(1, 0.25)).toBe(4);
    expect(floorDivF32(0.7, 0.1)).toBe(6); // 0.7f / 0.1f = 6.9999… in float32 → floor 6 (torch)
  });

  it('skips NaN and ±Infinity, counts them, and handles constant and all-NaN tensors', async () => {
    const r = await runCollector(hfmgCollector, { batches: { a: [[NaN, 1, -Infinity, -0.5, Infinity]], c: [[2, 2, 2], [2]], n: [[NaN]] } });
    expect(r.a).toMatchObject({ nanCount: 1, infCount: 2 });
    expect(r.c).toMatchObject({ rangeMin: 2, rangeMax: 2, offset: 0 });
    expectClose(r.c!.scale as number, 2 / 127, { rtol: 1e-6 });
    expect(r.n).toMatchObject({ min: -128, max: 127, scale: 1, nanCount: 1 }); // no finite value: AMCT's scale 1
    for (const t of Object.values(r)) expect(Number.isFinite(t.min) && t.min <= t.max).toBe(true);
  });

  it('a constant batch followed by wider data merges (AMCT raises IndexError here, Corrections item 7)', async () => {
    const lin = Array.from({ length: 100 }, (_, i) => -1 + (1.5 * i) / 99);
    const r = await runCollector(hfmgCollector, { batches: { t: [new Array(100).fill(0.5), lin] } });
    expect(Number.isFinite(r.t!.min) && Number.isFinite(r.t!.max)).toBe(true);
  });

  it('property: clip range contains 0, scale > 0, and the searched range lies within the data range', async () => {
    for (let seed = 1; seed <= 5; seed++) {
      const data = Float32Array.from({ length: 3000 }, (_, i) => Math.sin(i * seed) * seed + (i % 7 === 0 ? seed : 0));
      for (const withOffset of [false, true]) {
        const r = (await runCollector(hfmgCollector, { batches: { t: [data] }, options: { withOffset, numOfBins: 1024 } })).t!;
        expect(r.min).toBeLessThanOrEqual(0);
        expect(r.max).toBeGreaterThanOrEqual(0);
        expect(r.scale as number).toBeGreaterThan(0);
        expect(r.rangeMin as number).toBeGreaterThanOrEqual(Math.min(...data) - 1e-6);
        expect(r.rangeMax as number).toBeLessThanOrEqual(Math.max(...data) + 1e-5);
      }
    }
  });

  it('snapshot + merge: identical to a single run when a later shard\'s range contains the earlier ones, close otherwise', async () => {
    const g = golden('amct_hfmg', 'growing_range'); // N(0.1, s), s = 0.5, 1.5, 4: each batch's range contains the earlier ones
    const b = goldenBatches(g);
    const one = create();
    b.forEach((d) => one.collect('t', 'op', { data: d, dims: [d.length] }));
    const expected = (await one.postCollect(post)).t!;
    const sharded = async (split: number) => {
      const s1 = create();
      const s2 = create();
      b.forEach((d, i) => (i < split ? s1 : s2).collect('t', 'op', { data: d, dims: [d.length] }));
      const merged = create();
      merged.merge!(JSON.parse(JSON.stringify(s1.snapshot!())));
      merged.merge!(JSON.parse(JSON.stringify(s2.snapshot!())));
      return (await merged.postCollect(post)).t!;
    };
    expect(await sharded(2)).toEqual(expected); // shard 2 = batch 2, whose range holds batches 0-1
    const approx = await sharded(1); // shard 2 = batches 1-2 folded on their own: counts redistributed
    expect(approx.rangeMin).toBe(expected.rangeMin);
    expectClose(approx.rangeMax as number, expected.rangeMax as number, { rtol: 2e-3 });
  });

  it('search with no finite data or a narrow histogram still returns AMCT outputs', () => {
    const r = hfmgSearch(new Float64Array(1024), 0, 0, true, 8);
    expect(r).toMatchObject({ scale: 1, offset: -128 });
  });
});
