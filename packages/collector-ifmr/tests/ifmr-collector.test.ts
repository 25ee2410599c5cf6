import { runCollector, expectClose } from '@qcal/plugin-kit/testkit';
import { silentLogger, validateOptions } from '@qcal/plugin-kit';
import { ifmrCollector, collectors } from '@qcal/collector-ifmr';
import defaultExport from '@qcal/collector-ifmr';
import { golden, goldenBatches } from '../../../test-support/paths';
import { normal, optionsOf } from './helpers';

const CASES = ['constant', 'gaussian', 'gaussian_outliers', 'growing_range', 'laplace', 'relu_like', 'zeros_spike'];

function create(options: Record<string, unknown> = {}) {
  const { options: o, problems } = validateOptions(ifmrCollector.optionsSchema, ifmrCollector.defaultOptions, options, 'ifmr');
  if (problems.length) throw new Error(problems.join('\n'));
  return ifmrCollector.create(o, { tensors: [], logger: silentLogger });
}
const post = { tensors: [], samples: 0, batches: 0, logger: silentLogger };

describe('ifmr collector', () => {
  it('is exported as plugin data', () => {
    expect(ifmrCollector.name).toBe('ifmr');
    expect(collectors).toEqual([ifmrCollector]);
    expect(defaultExport).toBe(ifmrCollector);
    expect(ifmrCollector.defaultOptions).toMatchObject({ mode: 'histogram', batchNum: 1, withOffset: false, numBits: 8 });
  });

  it.each(CASES)('exact mode reproduces golden/amct_ifmr/%s (all four variants)', async (name) => {
    const g = golden('amct_ifmr', name);
    for (const v of ['symmetric', 'asymmetric', 'symmetric_int4', 'asymmetric_int4']) {
      const r = await runCollector(ifmrCollector, { batches: { t: goldenBatches(g) }, options: optionsOf(g.params[v], 'exact') });
      const e = g.expected[v];
      expectClose(r.t!.min, e.clip_min, { rtol: 1e-5, atol: 1e-7 });
      expectClose(r.t!.max, e.clip_max, { rtol: 1e-5, atol: 1e-7 });
      expectClose(r.t!.scale as number, e.scale, { rtol: 1e-5 });
      expect(r.t!.offset).toBe(e.offset);
    }
  });

  it('exact mode searches only the first batchNum batches (AMCT batch_num)', async () => {
    const r = await runCollector(ifmrCollector, { batches: { t: [[-1, 0.5, 1], [100, -100]] }, options: { mode: 'exact', batchNum: 1 } });
    expect(r.t!.max).toBeLessThan(2);
  });

  it('hand-worked: a symmetric grid of multiples of 1/127 is reproduced exactly (ratio 1, zero loss)', async () => {
    const data = Array.from({ length: 255 }, (_, i) => (i - 127) / 127); // -1 … 1 in steps of 1/127
    for (const mode of ['exact', 'histogram']) {
      const r = await runCollector(ifmrCollector, { batches: { t: [data] }, options: { mode } });
      expect(r.t!.ratio).toBe(1);
      expectClose(r.t!.scale as number, 1 / 127, { rtol: 1e-7 });
      expectClose(r.t!.max, 1, { rtol: 1e-7 });
      expectClose(r.t!.min, -128 / 127, { rtol: 1e-7 });
    }
  });

  it('hand-worked: asymmetric, values k/255 on [0, 1] → ratio 1, scale 1/255, offset -128, range [0, 1]', async () => {
    const data = Array.from({ length: 256 }, (_, k) => k / 255);
    for (const mode of ['exact', 'histogram']) {
      const r = await runCollector(ifmrCollector, { batches: { t: [data] }, options: { mode, withOffset: true } });
      expect(r.t).toMatchObject({ ratio: 1, offset: -128 });
      expectClose(r.t!.scale as number, 1 / 255, { rtol: 1e-7 });
      expect(r.t!.min).toBe(0);
      expectClose(r.t!.max, 1, { rtol: 1e-7 });
    }
  });

  it('skips NaN and ±Infinity, counts them, and handles constant and all-NaN tensors', async () => {
    for (const mode of ['exact', 'histogram']) {
      const r = await runCollector(ifmrCollector, {
        batches: { a: [[NaN, 1, -Infinity, -0.5, Infinity]], c: [[2, 2, 2], [2]], z: [[0, 0]], n: [[NaN, NaN]] },
        options: { mode },
      });
      expect(r.a).toMatchObject({ nanCount: 1, infCount: 2 });
      expect(Number.isFinite(r.a!.min) && Number.isFinite(r.a!.max)).toBe(true);
      // constant 2: base 2, ratio 1 quantizes 2 exactly → clip_max = 2
      expectClose(r.c!.max, 2, { rtol: 1e-6 });
      expect(r.z).toMatchObject({ scale: 1, offset: 0 }); // scale < FLT_EPSILON → 1 (AMCT process_scale)
      expect(r.n).toMatchObject({ scale: 1, nanCount: 2 });
      for (const t of Object.values(r)) expect(t.min).toBeLessThanOrEqual(t.max);
    }
  });

  it('property: the clip range always contains 0 and the clip value lies in [0.7, 1.3)·base', async () => {
    for (let seed = 1; seed <= 6; seed++) {
      const data = normal(4000, seed, seed, seed % 3 - 1);
      for (const withOffset of [false, true]) {
        const r = await runCollector(ifmrCollector, { batches: { t: [data] }, options: { withOffset } });
        expect(r.t!.min).toBeLessThanOrEqual(0);
        expect(r.t!.max).toBeGreaterThanOrEqual(0);
        expect(r.t!.ratio as number).toBeGreaterThanOrEqual(0.7 - 1e-7);
        expect(r.t!.ratio as number).toBeLessThan(1.3);
      }
    }
  });

  it('histogram mode: snapshot + merge (JSON) equals one run over all batches', async () => {
    const g = golden('amct_ifmr', 'growing_range');
    const b = goldenBatches(g);
    const one = create();
    b.forEach((d) => one.collect('t', 'op', { data: d, dims: [d.length] }));
    const expected = await one.postCollect(post);
    for (let split = 0; split <= b.length; split++) {
      const s1 = create();
      const s2 = create();
      b.forEach((d, i) => (i < split ? s1 : s2).collect('t', 'op', { data: d, dims: [d.length] }));
      const merged = create();
      merged.merge!(JSON.parse(JSON.stringify(s1.snapshot!())));
      merged.merge!(JSON.parse(JSON.stringify(s2.snapshot!())));
      expect(await merged.postCollect(post)).toEqual(expected);
    }
  });

  it('exact mode refuses to snapshot with a message that says what to do', () => {
    expect(() => create({ mode: 'exact' }).snapshot!()).toThrow(/use mode "histogram"/);
  });

  it('rejects bad options', () => {
    const { problems } = validateOptions(ifmrCollector.optionsSchema, ifmrCollector.defaultOptions, { mode: 'fast', numBits: 7, searchRange: [1] }, 'ifmr');
    expect(problems).toHaveLength(3);
    expect(() => create({ searchRange: [1.3, 0.7] })).toThrow(/searchRange/);
  });
});
