import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildQdqModel } from '../../src/qdq/build-qdq';
import {
  applyFallback, chooseCollectorPerLayer, fallbackExclusions, loadFidelityMetric, measureSensitivity, searchFallback, withoutFallback, cosineMetric, sqnrMetric,
} from '../../src/sensitivity';
import { minMaxTable, samples, sensitiveModel } from './helpers';

const ACTS = ['x', 'h1', 'r1', 't2', 'y'];

describe('sensitivity on a model with one layer sensitive by construction', () => {
  const { model, sensitive } = sensitiveModel();
  const calib = samples(32, 1);
  const evalData = samples(16, 2);
  let table: Awaited<ReturnType<typeof minMaxTable>>;
  beforeAll(async () => { table = await minMaxTable(model, calib, ACTS); });

  test('the sensitive tensor ranks first in both views; ties keep graph order', async () => {
    const r = await measureSensitivity({ model, table, data: evalData, evalSamples: 8, qdq: { quantizeMode: 'full' } });
    expect(r.samples).toBe(8);
    expect(r.layers[0]!.tensor).toBe(sensitive);
    expect(r.baseline.allQuantized).toBeLessThan(0.99);
    // All switches off is the FP32 model exactly: weights follow their input's switch.
    expect(r.baseline.noneQuantized).toBeCloseTo(1, 6);
    expect(r.layers[0]!.quantizedAlone!).toBeLessThan(0.99);
    const others = r.layers.filter((l) => l.tensor !== sensitive);
    for (const l of others) expect(l.quantizedAlone!).toBeGreaterThan(0.99);
    const byGain = [...r.layers].sort((a, b) => b.gain! - a.gain! || a.order - b.order);
    expect(byGain[0]!.tensor).toBe(sensitive);
    expect(r.cost.inferences).toBe((2 + 2 * r.layers.length) * 8);
  });

  test('fallback keeps exactly the sensitive tensor float, verified on held-out samples, reproducibly', async () => {
    const run = () => searchFallback({ model, table, data: evalData, evalSamples: 8, target: 0.99 });
    const a = await run();
    expect(a.met).toBe(true);
    expect(a.exclude).toEqual([sensitive]);
    expect(a.samples).toEqual({ search: 8, heldOut: 8 });
    expect(a.allQuantized.search).toBeLessThan(0.99);
    expect(a.score.heldOut!).toBeGreaterThanOrEqual(0.99);
    expect(fallbackExclusions(a.table)).toEqual([sensitive]);
    expect(a.table.tensors[sensitive]).toBeUndefined();
    const b = await run();
    expect(b.exclude).toEqual(a.exclude);
    expect(b.score).toEqual(a.score);
    // The written table builds a QDQ model that leaves the tensor float.
    const q = buildQdqModel(model, a.table);
    expect(q.report.dequantized[sensitive]).toBeUndefined();
    expect(withoutFallback(a.table).tensors[sensitive]).toEqual(table.tensors[sensitive]);
  });

  test('grouped ranking (blocks of 2, harmful blocks refined) finds the same tensor and the same exclusion', async () => {
    const r = await searchFallback({ model, table, data: evalData, evalSamples: 8, target: 0.99, groupSize: 2, qdq: { quantizeMode: 'full' } });
    expect(r.ranking[0]!.tensor).toBe(sensitive);
    expect(r.exclude).toEqual([sensitive]);
    expect(new Set(r.ranking.map((l) => l.tensor)).size).toBe(r.ranking.length);
  });

  test('maxFloatLayers caps the fallback and says the target was not met', async () => {
    const r = await searchFallback({ model, table, data: evalData, evalSamples: 8, target: 0.99, maxFloatLayers: 0 });
    expect(r.met).toBe(false);
    expect(r.exclude).toEqual([]);
  });

  test('a user metric module from the config folder drives the ranking', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qcal-metric-'));
    // Arg-max agreement of the 4 outputs (a "top-1 accuracy" of INT8 vs FP32), minus a cosine tie-breaker.
    fs.writeFileSync(path.join(dir, 'top1.js'), `
      exports.name = 'top1';
      const am = (d) => { let b = 0; for (let i = 1; i < d.length; i++) if (d[i] > d[b]) b = i; return b; };
      exports.metric = (fp, q) => fp.filter((o, i) => am(o.y.data) === am(q[i].y.data)).length / fp.length;`);
    const m = loadFidelityMetric('./top1.js', { configDir: dir, cwd: process.cwd() });
    expect(m.name).toBe('top1');
    const r = await measureSensitivity({ model, table, data: evalData, evalSamples: 8, metric: './top1.js', search: { configDir: dir, cwd: process.cwd() }, views: ['quantized-alone'] });
    expect(r.metric).toBe('top1');
    expect(r.layers[0]!.tensor).toBe(sensitive);
    expect(r.layers[0]!.floatAlone).toBeUndefined();
    expect(() => loadFidelityMetric('./nope.js', { configDir: dir, cwd: dir })).toThrow(/cannot find metric module/);
  });

  test('metrics: cosine and SQNR of identical and of scaled outputs', () => {
    const a = [{ y: { data: Float32Array.from([1, 2, 3]), dims: [3] } }];
    const b = [{ y: { data: Float32Array.from([2, 4, 6]), dims: [3] } }];
    expect(cosineMetric.metric(a, a)).toBeCloseTo(1, 12);
    expect(cosineMetric.metric(a, b)).toBeCloseTo(1, 12);
    expect(sqnrMetric.metric(a, a)).toBe(Infinity);
    expect(sqnrMetric.metric(a, b)).toBeCloseTo(0, 10);
  });

  test('applyFallback does not modify its input', () => {
    const before = JSON.stringify(table);
    const t = applyFallback(table, ['t2'], { metric: 'cosine', target: 0.99 });
    expect(JSON.stringify(table)).toBe(before);
    expect(Object.keys(t.tensors)).not.toContain('t2');
  });

  test('per-layer collector choice takes the clipped range where it pays and keeps ties on the first table', async () => {
    const t2 = table.tensors.t2!;
    const clipped = { ...table, collector: 'clip', tensors: { ...table.tensors, t2: { ...t2, min: t2.min / 200, max: t2.max / 200 } } };
    const r = await chooseCollectorPerLayer({ model, tables: { minmax: table, clip: clipped }, data: evalData, evalSamples: 8 });
    const byTensor = Object.fromEntries(r.choices.map((c) => [c.tensor, c.collector]));
    expect(byTensor.t2).toBe('clip');
    for (const [t, c] of Object.entries(byTensor)) if (t !== 't2') expect(c).toBe('minmax');
    expect(r.table.tensors.t2!.max).toBe(t2.max / 200);
    expect(r.allQuantized.mixed!).toBeGreaterThan(r.allQuantized.minmax!);
  });
});
