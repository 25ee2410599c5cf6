import { PluginError, exitCodeFor } from '../../src/errors';
import { wrapCollector, instantiateCollector } from '../../src/plugins';
import type { CalibrationCollector, CollectorDefinition } from '../../src/collector';
import { silentLogger } from '../../src/logger';

/** postCollect's context as the runner gives it: the tensors that were computed (normally all asked). */
const postFor = (names: readonly string[]) => ({ tensors: names.map((name) => ({ name, opName: `${name}_op`, opType: 'Test', consumers: [] })), samples: 1, batches: 1, logger: silentLogger });
const post = postFor(['a']);
const t = { data: new Float32Array([1]), dims: [1] };

function caught(fn: () => unknown): PluginError {
  try { fn(); } catch (e) { return e as PluginError; }
  throw new Error('expected a throw');
}

describe('wrapCollector', () => {
  test('hook errors name the collector, the hook and the tensor; exit code 1', async () => {
    const c: CalibrationCollector = {
      collect(name) { if (name === 'bad') throw new Error('shape mismatch'); },
      postCollect() { throw new Error('no data'); },
      snapshot() { throw new Error('s'); },
      merge() { throw new Error('m'); },
    };
    const w = wrapCollector('acme/x', c, ['a']);
    expect(() => w.collect('a', 'op', t)).not.toThrow();
    const e = caught(() => w.collect('bad', 'op', t));
    expect(e).toBeInstanceOf(PluginError);
    expect(e.message).toBe('collector "acme/x" failed in collect for tensor "bad": shape mismatch');
    expect(e.plugin).toBe('acme/x');
    expect(e.duringRun).toBe(true);
    expect(exitCodeFor(e)).toBe(1);
    expect(caught(() => w.postCollect(post)).message).toBe('collector "acme/x" failed in postCollect: no data');
    expect(caught(() => w.snapshot!()).message).toBe('collector "acme/x" failed in snapshot: s');
    expect(caught(() => w.merge!({})).message).toBe('collector "acme/x" failed in merge: m');
  });
  test('async hooks reject with the same errors', async () => {
    const c: CalibrationCollector = {
      async collect() { throw new Error('later'); },
      async postCollect() { return { a: { min: 0, max: 1 } }; },
    };
    const w = wrapCollector('acme/x', c, ['a', 'b']);
    await expect(w.collect('a', 'op', t)).rejects.toThrow('collector "acme/x" failed in collect for tensor "a": later');
    await expect(w.postCollect(postFor(['a', 'b']))).rejects.toThrow('collector "acme/x" failed in postCollect: returned no range for 1 tensor(s) it was asked to calibrate: "b"');
    expect(w.snapshot).toBeUndefined();
    expect(w.merge).toBeUndefined();
  });
  test('postCollect output is checked: missing, extra, non-finite, min > max', () => {
    const c: CalibrationCollector = {
      collect() {},
      postCollect: () => ({ a: { min: NaN, max: 1 }, b: { min: 2, max: 1 }, c: { min: 0, max: Infinity }, z: { min: 0, max: 1 } }),
    };
    const e = caught(() => wrapCollector('acme/x', c, ['a', 'b', 'c', 'd']).postCollect(postFor(['a', 'b', 'c', 'd'])));
    expect(e.message).toBe([
      'collector "acme/x" failed in postCollect: ',
      '  - returned no range for 1 tensor(s) it was asked to calibrate: "d"',
      '  - returned ranges for 1 tensor(s) it was not asked to calibrate: "z"',
      '  - range for tensor "a" is min NaN, max 1; expected float32-finite numbers with min <= max',
      '  - range for tensor "b" has min 2 > max 1; expected min <= max',
      '  - range for tensor "c" is min 0, max Infinity; expected float32-finite numbers with min <= max',
    ].join('\n'));
    expect(caught(() => wrapCollector('acme/x', { collect() {}, postCollect: () => null as never }, []).postCollect(postFor([]))).message)
      .toBe('collector "acme/x" failed in postCollect: returned null instead of an object { tensorName: { min, max } }');
  });
  test('a good result passes through', () => {
    const w = wrapCollector('m', { collect() {}, postCollect: () => ({ a: { min: -1, max: 1, extra: 3 } }) }, ['a']);
    expect(w.postCollect(post)).toEqual({ a: { min: -1, max: 1, extra: 3 } });
  });
  test('tensors the run never computed (left out of the context) are not demanded, and their ranges are dropped', () => {
    const w = wrapCollector('m', { collect() {}, postCollect: () => ({ a: { min: -1, max: 1 }, b: { min: 0, max: 0 } }) }, ['a', 'b', 'c']);
    expect(w.postCollect(postFor(['a']))).toEqual({ a: { min: -1, max: 1 } });
  });
});

describe('instantiateCollector', () => {
  const base = { name: 'acme/i', apiVersion: 1, optionsSchema: {}, defaultOptions: {} };
  const ctx = { tensors: [], logger: silentLogger };
  test('create throwing or returning a non-collector', () => {
    const throwing = { ...base, create: () => { throw new Error('bad options'); } } as CollectorDefinition;
    expect(caught(() => instantiateCollector({ name: 'acme/i', definition: throwing, options: {}, source: 'x' }, ctx)).message).toBe('collector "acme/i" failed in create: bad options');
    const empty = { ...base, create: () => ({}) } as unknown as CollectorDefinition;
    expect(caught(() => instantiateCollector({ name: 'acme/i', definition: empty, options: {}, source: 'x' }, ctx)).message)
      .toBe('collector "acme/i" failed in create: it returned an object without collect and postCollect methods; create(options, ctx) must return { collect(name, opName, tensor), postCollect(ctx) }');
  });
});
