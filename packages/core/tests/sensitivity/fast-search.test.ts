import { indexGraph } from '../../src/onnx/graph-index';
import { rankTensors } from '../../src/sensitivity/rank-tensors';
import { searchFallback } from '../../src/sensitivity';
import { minMaxTable, samples, sensitiveModel } from './helpers';

/**
 * A hand-worked probe: quantizing tensor t alone costs harm[t] and harms add up, so the metric of a
 * configuration is 1 − Σ harm over the quantized tensors. 40 tensors, all harmless but t7 (0.05)
 * and t30 (0.01).
 */
function additiveProbe(): { switches: string[]; score: (on: ReadonlySet<string>) => Promise<number>; calls: () => number } {
  const switches = Array.from({ length: 40 }, (_, i) => `t${i}`);
  const harm = new Map([['t7', 0.05], ['t30', 0.01]]);
  let n = 0;
  return {
    switches,
    score: async (on) => { n++; let s = 1; for (const t of on) s -= harm.get(t) ?? 0; return s; },
    calls: () => n,
  };
}
const noIndex = { tensors: new Map() } as unknown as ReturnType<typeof indexGraph>;

describe('fast fallback search', () => {
  it('halving refinement: blocks of 8, the worst block halved down to its harmful tensor in 2·log2(8) probes', async () => {
    const p = additiveProbe();
    const r = await rankTensors(p, noIndex, { by: 'loss', groupSize: 8, refine: 'halves', maxRefinedBlocks: 1 });
    // 1 baseline + 5 blocks + 2·3 halvings = 12 probes (members one by one would take 1 + 5 + 8).
    expect(p.calls()).toBe(12);
    expect(r[0]).toMatchObject({ tensor: 't7', loss: expect.closeTo(0.05, 12) });
    // The unrefined block holding t30 (harm 0.01) comes next, before every harmless tensor.
    expect(r.slice(1, 9).map((x) => x.tensor)).toEqual(['t24', 't25', 't26', 't27', 't28', 't29', 't30', 't31']);
    expect(new Set(r.map((x) => x.tensor)).size).toBe(40);
  });

  it('does not rank anything when the fully quantized model already meets the target on held-out samples', async () => {
    const { model } = sensitiveModel();
    const table = await minMaxTable(model, samples(32, 1), ['x', 'h1', 'r1', 't2', 'y']);
    const all = await searchFallback({ model, table, data: samples(16, 2), evalSamples: 8, target: 0.99, maxFloatLayers: 0 });
    const r = await searchFallback({ model, table, data: samples(16, 2), evalSamples: 8, target: all.allQuantized.heldOut! - 1e-3 });
    expect(r.met).toBe(true);
    expect(r.exclude).toEqual([]);
    expect(r.ranking).toEqual([]);
    expect(r.cost).toMatchObject({ builds: 1, probes: 0 });
    expect(r.quantizable).toBeGreaterThan(0);
  });

  it('ranks on real QDQ builds (default) or the switch model, and both find the sensitive tensor', async () => {
    const { model, sensitive } = sensitiveModel();
    const table = await minMaxTable(model, samples(32, 1), ['x', 'h1', 'r1', 't2', 'y']);
    for (const probe of ['build', 'switch'] as const) {
      const r = await searchFallback({ model, table, data: samples(16, 2), evalSamples: 8, target: 0.99, probe, refine: 'halves', groupSize: 2 });
      expect(r.exclude).toEqual([sensitive]);
      expect(r.cost.probes).toBeGreaterThan(0);
      // Build probes are QDQ builds too; the switch model is one session.
      if (probe === 'build') expect(r.cost.builds).toBeGreaterThan(r.cost.probes);
    }
  });

  it('int16: the tensors kept out of INT8 go to 16-bit activations when the target holds there too', async () => {
    const { model, sensitive } = sensitiveModel();
    const table = await minMaxTable(model, samples(32, 1), ['x', 'h1', 'r1', 't2', 'y']);
    const r = await searchFallback({ model, table, data: samples(16, 2), evalSamples: 8, target: 0.99, int16: true });
    expect(r.int16).toEqual([sensitive]);
    expect(r.exclude).toEqual([]);
    expect(r.met).toBe(true);
    expect(r.table.meta!.int16).toEqual([sensitive]);
    expect(r.trials.map((t) => t.stage)).toContain('int16');
  });
});
