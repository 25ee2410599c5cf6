import { buildQdqModel } from '../../src/qdq/build-qdq';
import { chooseRanges, rangeGroups } from '../../src/sensitivity';
import type { CalibrationTable } from '../../src/table';
import { minMaxTable, samples, sensitiveModel } from './helpers';

describe('chooseRanges: a range per tensor group among collectors, by measured harm', () => {
  const { model } = sensitiveModel();
  const names = ['x', 'h1', 'r1', 't2', 'y'];

  it('groups the quantized activations by producing op type and by runs of the graph order', async () => {
    const table = await minMaxTable(model, samples(8, 1), names);
    const quantized = buildQdqModel(model, table).report.tensors.map((t) => t.name);
    expect(quantized).toEqual(expect.arrayContaining(['x', 'h1', 't2']));
    const byType = rangeGroups(model, quantized, 'op-type');
    expect(byType.find((g) => g.name === 'graph input')!.tensors).toEqual(['x']);
    expect(byType.find((g) => g.name === 'MatMul')!.tensors).toEqual(quantized.filter((t) => ['h1', 't2', 'y'].includes(t)));
    expect(byType.flatMap((g) => g.tensors).sort()).toEqual([...quantized].sort());
    const blocks = rangeGroups(model, quantized, 'blocks', 2);
    expect(blocks.map((b) => b.tensors)).toEqual([quantized.slice(0, Math.ceil(quantized.length / 2)), quantized.slice(Math.ceil(quantized.length / 2))]);
  });

  /**
   * t2 is read by W3 only on its small channels while channel 0 is 1000× larger (sensitiveModel):
   * min/max spends the INT8 grid on that outlier, and the QDQ output collapses (cosine 0); a range
   * of ±10 clips the outlier and keeps the channels that matter. h1 squeezed to ±0.001 is a broken
   * range anywhere.
   */
  const withRange = (table: CalibrationTable, tensor: string, label: string, r: number): CalibrationTable =>
    ({ ...table, collector: label, tensors: { ...table.tensors, [tensor]: { ...table.tensors[tensor]!, min: -r, max: r } } });

  it('takes each tensor from the collector that got it right: minmax is wrong on t2, "clip" on h1 → t2 from clip, h1 from minmax', async () => {
    const minmax = await minMaxTable(model, samples(32, 1), names);
    const clip = withRange(withRange(minmax, 't2', 'clip', 10), 'h1', 'clip', 1e-3);
    const data = samples(16, 2);
    const r = await chooseRanges({ model, tables: { minmax, clip }, data, stages: ['blocks'], blocks: 100, minGain: 0 });
    expect(r.choice.t2).toBe('clip');
    expect(r.choice.h1).toBe('minmax');
    expect(r.table.tensors.t2).toMatchObject({ min: -10, max: 10, collector: 'clip' });
    expect(r.table.tensors.h1).toMatchObject({ min: minmax.tensors.h1!.min, max: minmax.tensors.h1!.max, collector: 'minmax' });
    expect(r.table.collector).toBe('auto');
    // The mix scores as the right table does (min/max with t2 clipped), and far above either collector alone.
    const right = await chooseRanges({ model, tables: { right: withRange(minmax, 't2', 'right', 10) }, data, stages: [] });
    expect(r.meta.score.chosen).toBeCloseTo(right.meta.score.base, 6);
    expect(r.meta.score.candidates.minmax).toBeLessThan(0.1);
    expect(r.meta.score.chosen).toBeGreaterThan(Math.max(r.meta.score.candidates.minmax!, r.meta.score.candidates.clip!) + 0.1);
    expect(r.meta.score.base).toBe(r.meta.score.candidates.minmax);
    // Recorded: counts per collector over the quantized tensors, the groups switched, the builds.
    const quantized = Object.keys(r.choice);
    expect(Object.values(r.meta.counts).reduce((x, y) => x + y, 0)).toBe(quantized.length);
    const i = quantized.indexOf('t2') + 1;
    expect(r.meta.switched).toEqual([expect.objectContaining({ stage: 'blocks', group: `tensors ${i}..${i}`, collector: 'clip' })]);
    expect(r.table.meta!.rangeChoice).toEqual(r.meta);
    // Groups where both tables agree are not built: 2 alone + one trial per differing tensor (h1, t2).
    expect(r.meta.builds).toBe(4);
  });

  it('keeps the base where the other collector is the one that is wrong, and does not switch for gains below minGain', async () => {
    const good = withRange(await minMaxTable(model, samples(32, 1), names), 't2', 'good', 10);
    const bad = withRange(good, 'h1', 'bad', 1e-3);
    const data = samples(16, 2);
    const r = await chooseRanges({ model, tables: { good, bad }, data, stages: ['op-type', 'blocks'], blocks: 100 });
    expect(Object.values(r.choice).every((c) => c === 'good')).toBe(true);
    expect(r.meta.switched).toEqual([]);
    expect(r.steps.length).toBeGreaterThan(0);
    expect(r.steps.every((s) => !s.kept)).toBe(true);
    // The other way round the switch removes nearly all the harm, but not all: with minGain 1 it is not taken.
    const r2 = await chooseRanges({ model, tables: { bad, good }, data, stages: ['blocks'], blocks: 100, minGain: 1 });
    expect(r2.meta.switched).toEqual([]);
    expect(r2.meta.score.chosen).toBe(r2.meta.score.base);
    const r3 = await chooseRanges({ model, tables: { bad, good }, data, stages: ['blocks'], blocks: 100 });
    expect(r3.choice.h1).toBe('good');
  });
});
