/** @jest-environment ./packages/core/tests/tuning/ort-environment.js */
/**
 * The quick (CI) bench on tiny sizes: the result structure, not timings (a shared CI machine's
 * timings mean nothing). Measurements run in this process here (isolate: false), so that the
 * test needs no build; one baseline child process checks the child protocol.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { benchOptions, quickBench } = require('../run.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { runChild, formatTable } = require('../lib/bench.js');

describe('bench --quick', () => {
  test('options: recognizer only, every collector in one pass, no growth runs', () => {
    const o = benchOptions(['--quick']);
    expect(o.models).toEqual([{ kind: 'rec', samples: 3 }]);
    expect(o.collectors).toEqual(['minmax', 'entropy', 'ifmr', 'hfmg']);
    expect(o.onlyAll).toBe(true);
    expect(o.growth).toEqual([]);
    const full = benchOptions(['--rec', '20', '--det', '0', '--threads', '1']);
    // Defaults: sensitivity and the --target-cos search on the first model, auto-tune on 4 detector scenes of its own.
    expect(full.models).toEqual([{ kind: 'rec', samples: 20, extras: ['sensitivity', 'target-cos'] }, { kind: 'det', samples: 4, collectors: ['autotune'] }]);
    expect(full.collectors).toEqual(['minmax', 'entropy', 'ifmr', 'hfmg']);
    expect(full.session).toEqual({ intraOpNumThreads: 1 });
    expect(benchOptions(['--det', '0', '--extras', 'none', '--autotune-scenes', '16']).models).toEqual([{ kind: 'rec', samples: 50 }, { kind: 'det', samples: 16, collectors: ['autotune'] }]);
  });

  test('core function on tiny sizes: baseline and all-in-one-pass rows with ratios, RSS and growth', async () => {
    const res = await quickBench({ models: [{ kind: 'rec', samples: 1 }], collectors: ['minmax'], growth: ['all'], growthFactor: 2, isolate: false });
    expect(res.machine.cpus).toBeGreaterThan(0);
    expect(res.models).toHaveLength(1);
    const m = res.models[0];
    expect(m).toMatchObject({ kind: 'rec', samples: 1 });
    expect(m.baseline.wallMs).toBeGreaterThan(0);
    expect(m.results.map((r: { label: string }) => r.label)).toEqual(['baseline', 'all']);
    for (const r of m.results) {
      expect(r.error).toBeUndefined();
      expect(r.samples).toBe(1);
      for (const k of ['wallMs', 'ratio', 'passRatio', 'inferenceMs', 'collectMs', 'postCollectMs', 'peakRssMB']) expect(Number.isFinite(r[k])).toBe(true);
    }
    const all = m.results[1];
    expect(all.growth).toMatchObject({ fromSamples: 1, samples: 2 });
    expect(Number.isFinite(all.growth.factor)).toBe(true);
    expect(formatTable(res)).toContain('| rec | 1 | all |');
  });

  test('a model entry benches its own collectors with its own baseline, without growth runs', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { runBench } = require('../lib/bench.js');
    const res = await runBench({ models: [{ kind: 'rec', samples: 1, collectors: ['minmax'] }], collectors: ['entropy'], growth: ['all', 'minmax'], isolate: false });
    const m = res.models[0];
    expect(m.collectors).toEqual(['minmax']);
    expect(m.results.map((r: { label: string }) => r.label)).toEqual(['baseline', 'minmax']);
    expect(m.results[1].growth).toBeUndefined();
    expect(Number.isFinite(m.results[1].ratio)).toBe(true);
  });

  test('a measurement in a child process reports wall time and peak RSS', async () => {
    const r = await runChild({ kind: 'rec', samples: 1, label: 'baseline', mode: 'baseline' }, 120000);
    expect(r.error).toBeUndefined();
    expect(r.samples).toBe(1);
    expect(r.peakRssMB).toBeGreaterThan(10);
    expect(r.wallMs).toBeGreaterThan(0);
  });
});
