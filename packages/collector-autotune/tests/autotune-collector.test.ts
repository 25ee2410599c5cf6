/** @jest-environment ./packages/collector-autotune/tests/ort-environment.js */
import {
  calibrate,
  defineCollector,
  loadCollectors,
  validateOptions,
  COLLECTOR_API_VERSION,
  type CollectorRegistry,
  type ResolvedCollector,
  type TensorRange,
} from '@qcal/core';
import { autotuneCollector } from '../src';
import { clip, node, outlierSamples, scale, writeModel } from './models';

/** A base collector with a fixed threshold of 1: [-1, 1], or [0, 1] where the data never went negative. */
const fixed = defineCollector<{ threshold: number }>({
  name: 'test/fixed',
  apiVersion: COLLECTOR_API_VERSION,
  optionsSchema: { threshold: { type: 'number', description: 'the threshold' } },
  defaultOptions: { threshold: 1 },
  create: (o) => {
    const min = new Map<string, number>();
    return {
      collect(name, _op, t) { min.set(name, Math.min(min.get(name) ?? 0, ...t.data)); },
      postCollect(ctx) {
        const out: Record<string, TensorRange> = {};
        for (const t of ctx.tensors) out[t.name] = { min: (min.get(t.name) ?? 0) < 0 ? -o.threshold : 0, max: o.threshold, note: 'fixed' };
        return out;
      },
    };
  },
});
const registry: CollectorRegistry = new Map([
  ['test/fixed', { definition: fixed, source: 'test', builtin: false }],
  ['autotune', { definition: autotuneCollector, source: 'test', builtin: false }],
]);
function autotune(options: Record<string, unknown> = {}): ResolvedCollector {
  const { options: validated, problems } = validateOptions(autotuneCollector.optionsSchema, autotuneCollector.defaultOptions, { base: 'test/fixed', ...options }, 'autotune');
  expect(problems).toEqual([]);
  return { name: 'autotune', definition: autotuneCollector as never, options: validated as Record<string, unknown>, source: 'test' };
}
async function run(model: string, options: Record<string, unknown> = {}, samples = 6) {
  const r = await calibrate({ model, data: { data: outlierSamples(samples) }, collectors: [autotune(options)], registry });
  return r.results[0]!.table.tensors;
}

describe('autotune collector', () => {
  it('raises the threshold to keep an outlier the next op passes on (Conv → Relu → Conv)', async () => {
    // x → conv1 (×1) → c → relu → r → conv2 (×0.5) → y. r holds the outlier 10; conv2 passes it on.
    const model = writeModel([...scale('conv1', 'x', 'c', 1), node('Relu', ['c'], ['r'], 'relu'), ...scale('conv2', 'r', 'y', 0.5)], ['y']);
    const t = await run(model);
    const r = t.r!;
    expect(r.baseThreshold).toBe(1);
    expect(r.baseMin).toBe(0);
    expect(r.baseMax).toBe(1);
    expect(r.absMax).toBeCloseTo(10, 6);
    // Clipping the outlier at T costs (10 − T)·0.5 in ‖·‖₂ while rounding costs ~T/127/√12 per value:
    // the last candidate, absmax, wins.
    expect(r.tunedThreshold).toBeCloseTo(10, 5);
    expect(r.min).toBe(0); // the base range never went negative: [0, T]
    expect(r.max).toBeCloseTo(10, 5);
    expect(r.distanceGain as number).toBeGreaterThan(0);
    expect((r.distance as number)).toBeLessThan(r.baseDistance as number);
    expect(r.consumers).toEqual([expect.objectContaining({ consumer: 'conv2', opType: 'Conv' })]);
    expect(r.baseExtras).toEqual({ note: 'fixed' });
    // y has no consumer: the base threshold stays.
    expect(t.y!.tunedThreshold).toBe(1);
    expect(t.y!.max).toBe(1);
    // x has negatives: symmetric.
    expect(t.x!.min).toBeCloseTo(-(t.x!.max as number), 9);
  });

  it('keeps the base threshold when the consumer clips at it anyway', async () => {
    const model = writeModel([...scale('conv1', 'x', 'c', 1), ...clip('clip', 'c', 'y', -1, 1)], ['y']);
    const t = await run(model);
    expect(t.c!.tunedThreshold).toBe(1);
    expect(t.c!.min).toBe(-1);
    expect(t.c!.distanceGain).toBe(0);
  });

  it('takes the larger threshold when consumers disagree (branching model)', async () => {
    // c feeds both a Conv (wants 10) and a Clip at ±1 (wants 1).
    const model = writeModel([...scale('conv1', 'x', 'c', 1), ...scale('conv2', 'c', 'y1', 2), ...clip('clip', 'c', 'y2', -1, 1)], ['y1', 'y2']);
    const t = await run(model);
    const c = t.c!;
    const consumers = c.consumers as { consumer: string; threshold: number; baseDistance: number; distance: number }[];
    expect(consumers.map((x) => x.consumer).sort()).toEqual(['clip', 'conv2']);
    const byName = Object.fromEntries(consumers.map((x) => [x.consumer, x]));
    expect(byName.conv2!.threshold).toBeCloseTo(10, 5);
    expect(byName.clip!.threshold).toBe(1);
    expect(c.tunedThreshold).toBeCloseTo(10, 5);
    // The clip branch pays for the larger threshold; the table records it.
    expect(byName.clip!.distance).toBeGreaterThan(byName.clip!.baseDistance);
  });

  it('does not tune when absmax is within minTunedDiff of the base threshold', async () => {
    const model = writeModel([...scale('conv1', 'x', 'c', 1), ...scale('conv2', 'c', 'y', 0.5)], ['y']);
    const t = await run(model, { baseOptions: { threshold: 9.995 } });
    expect(t.c!.tunedThreshold).toBe(9.995);
    expect(t.c!.consumers).toBeUndefined();
  });

  it('wraps a built-in collector loaded through the plugin path (minmax with a moving average)', async () => {
    const model = writeModel([...scale('conv1', 'x', 'c', 1), ...scale('conv2', 'c', 'y', 0.5)], ['y']);
    const loaded = loadCollectors([['autotune', { base: 'minmax', baseOptions: { movingAverage: true, averagingConstant: 0.5, symmetric: true }, tuneNum: 2 }]], { configDir: process.cwd(), cwd: process.cwd() });
    const r = await calibrate({ model, data: { data: outlierSamples(4) }, collectors: loaded.collectors, registry: loaded.registry });
    const c = r.results[0]!.table.tensors.c!;
    expect(c.baseThreshold as number).toBeLessThanOrEqual(10);
    expect(c.tunedThreshold as number).toBeGreaterThanOrEqual(c.baseThreshold as number);
  });

  it('tells what to do without a registry', async () => {
    const model = writeModel([...scale('conv1', 'x', 'c', 1)], ['c']);
    await expect(calibrate({ model, data: { data: outlierSamples(1) }, collectors: [autotune()] })).rejects.toThrow(/registry/);
  });
});
