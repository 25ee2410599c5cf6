/**
 * Fast mode (`sampleValues`): histogram collectors see every k-th value of each tensor (cut out
 * in-graph, or here in JS for a batch of a new input shape) with the tensor's exact extremes.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import {
  DataType, calibrate, collectPass, finishCalibration, prepareCalibration, loadCollectors, encodeModel, samplePlan, sampleStep, strided,
  type OnnxModel, type OnnxNode, type DataSource,
} from '@qcal/core';

const node = (opType: string, input: string[], output: string[]): OnnxNode => ({ opType, input, output, name: `${opType}_${output[0]}`, attribute: [] });
/** x [1, 3, 16, W] → y = x·x → z = Relu(x) (W dynamic), opset 9 (Slice with attributes) or 13. */
function model(opset: number): OnnxModel {
  const vi = (n: string) => ({ name: n, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimValue: 1 }, { dimValue: 3 }, { dimValue: 16 }, { dimParam: 'W' }] } } } });
  return {
    irVersion: 7,
    opsetImport: [{ domain: '', version: opset }],
    graph: { name: 'g', node: [node('Mul', ['x', 'x'], ['y']), node('Relu', ['x'], ['z'])], initializer: [], input: [vi('x')], output: [vi('y'), vi('z')], valueInfo: [] },
  } as OnnxModel;
}

/** Deterministic batch of 3·16·w values in (-4, 4), with a few large ones at fixed places. */
function batch(seed: number, w: number): Float32Array {
  const out = new Float32Array(3 * 16 * w);
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * 8;
  }
  out[17] = 9 + seed; // in block 1 of 16: never in a sample of every 3rd or 15th block, so only the in-graph extremes know it
  out[out.length - 2] = -7 - seed;
  return out;
}

function source(batches: Float32Array[]): DataSource {
  return { async *[Symbol.asyncIterator]() { for (const b of batches) yield { x: { type: 'float32' as const, data: b, dims: [1, 3, 16, b.length / 48] } }; } };
}

let dir: string;
beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qcal-fast-')); });
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(opset: number): string {
  const file = path.join(dir, `m${opset}.onnx`);
  fs.writeFileSync(file, encodeModel(model(opset)));
  return file;
}

describe('sampleStep', () => {
  test('hand-worked steps', () => {
    // 768 = 2^8·3 values, 64 wanted: bound 12; divisors 12 (2^2·3), 8, 6 (2·3), 4, 3 — the odd 3 wins.
    expect(sampleStep(768, 64)).toBe(3);
    // 960 = 2^6·15, bound 15: 15 itself is odd.
    expect(sampleStep(960, 64)).toBe(15);
    expect(sampleStep(768, 512)).toBe(1); // fewer than 2·per values: every value
    expect(sampleStep(1001, 4)).toBe(143); // bound 250: 1001 = 7·11·13, largest divisor below is 143
    expect(sampleStep(1 << 20, 4096)).toBe(64);
    // Must divide 192 (the gcd of sizes seen in other shapes): 12 (2^2·3), 8, 6 (2·3), 4 — 6; 3 is below a quarter of the bound 15.
    expect(sampleStep(960, 64, 192)).toBe(6); // a power of two: the fewest factors 2 down to a quarter of the bound 256
  });
  test('a divisor of the size that keeps at least `per` values', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 5000 }), (dims, per) => {
      const size = dims.reduce((a, b) => a * b, 1);
      const k = sampleStep(size, per);
      expect(Number.isInteger(k) && k >= 1).toBe(true);
      expect(size % k).toBe(0);
      if (k > 1) expect(size / k).toBeGreaterThanOrEqual(per);
    }), { seed: 19, numRuns: 300 });
  });
  test('blocks of 16 where the size allows', () => {
    // 768 = 48 blocks of 16, 4 blocks wanted per 64 values: bound 12 blocks; 3 is odd.
    expect(samplePlan(768, 64)).toEqual({ step: 3, block: 16 });
    expect(samplePlan(1001, 4)).toEqual({ step: 143, block: 1 }); // not a multiple of 16
    expect(samplePlan(768, 512)).toEqual({ step: 1, block: 1 });
    // The step must divide 192 = the gcd of the sizes seen (12 blocks): for 768 values (bound 12
    // blocks) 12, 6, 4, 3 → 3; for 1152 (bound 18) 12, 6 → 6, and 4 is below a quarter of 18.
    expect(samplePlan(768, 64, 192)).toEqual({ step: 3, block: 16 });
    expect(samplePlan(1152, 64, 192)).toEqual({ step: 6, block: 16 });
  });
  test('strided keeps every k-th value (or block) from the first', () => {
    expect(Array.from(strided(Float32Array.of(0, 1, 2, 3, 4, 5, 6, 7, 8), 3))).toEqual([0, 3, 6]);
    expect(Array.from(strided(Float32Array.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), 3, 2))).toEqual([0, 1, 6, 7]);
    const a = Float32Array.of(1, 2);
    expect(strided(a, 1)).toBe(a);
  });
});

describe.each([9, 13])('calibrate in fast mode (opset %i)', (opset) => {
  const collectorsSpec = ['minmax', ['entropy', { threads: 1 }], 'ifmr', 'hfmg'] as const;
  async function pass(batches: Float32Array[], sampleValues?: number) {
    const file = write(opset);
    const { collectors, registry } = loadCollectors(collectorsSpec.map((c) => c as never), { configDir: dir, cwd: dir });
    const prepared = await prepareCalibration({ model: file, data: { data: source(batches), batchSize: 1 }, collectors, registry, ...(sampleValues ? { sampleValues } : {}) });
    const { instances, counts } = await collectPass(prepared);
    const snaps = instances.map((c) => c.snapshot!() as { tensors: Record<string, Record<string, unknown>> });
    const res = await finishCalibration(prepared, instances, counts);
    return { snaps, res };
  }

  test('collectors count the sample only, take the exact extremes, and the graph cuts out what JS does', async () => {
    const b = batch(1, 16); // 768 values per tensor: step 3 at 64 values per batch
    const one = await pass([b], 64); // a new input shape: whole tensors, sampled in JS
    const two = await pass([b, b], 64); // the second batch is sampled in-graph
    const [, ent1, ifmr1, hfmg1] = one.snaps;
    const [, ent2, , hfmg2] = two.snaps;
    // entropy saw 256 values of x per batch (every 3rd block of 16 of 768); its range is the exact
    // one (10 and -8 are in blocks no sample holds).
    expect(ent1!.tensors.x!.finite).toBe(256);
    expect(ent2!.tensors.x!.finite).toBe(512);
    expect([ent1!.tensors.x!.min, ent1!.tensors.x!.max]).toEqual([-8, 10]);
    expect((ifmr1!.tensors.x as { n: number; min: number; max: number }).n).toBe(256);
    expect([ifmr1!.tensors.x!.min, ifmr1!.tensors.x!.max]).toEqual([-8, 10]);
    expect([hfmg1!.tensors.x!.min, hfmg1!.tensors.x!.max]).toEqual([-8, 10]);
    // z = Relu(x) has no sample of its own: Relu of x's sample (the same 256 places) and of its extremes.
    expect(ent1!.tensors.z!.finite).toBe(256);
    expect(ent2!.tensors.z!.finite).toBe(512);
    expect([ent2!.tensors.z!.min, ent2!.tensors.z!.max]).toEqual([0, 10]);
    // The same batch twice on the same range: hfmg's counts double exactly, so the in-graph sample
    // of batch 2 binned to the same counts as the JS sample of batch 1.
    const { decodeFloat64 } = await import('@qcal/plugin-kit');
    const c1 = decodeFloat64(hfmg1!.tensors.x!.counts as never);
    const c2 = decodeFloat64(hfmg2!.tensors.x!.counts as never);
    expect(c1.reduce((a, v) => a + v, 0)).toBe(256);
    expect(Array.from(c2)).toEqual(Array.from(c1, (v) => 2 * v));
    // minmax alongside: exact extremes of all values; the tables say fast mode was on.
    const exact = await calibrate({ model: write(opset), data: { data: source([b, b]), batchSize: 1 }, collectors: loadCollectors(['minmax'], { configDir: dir, cwd: dir }).collectors });
    for (const t of ['x', 'y', 'z']) {
      expect([two.res.results[0]!.table.tensors[t]!.min, two.res.results[0]!.table.tensors[t]!.max]).toEqual([exact.results[0]!.table.tensors[t]!.min, exact.results[0]!.table.tensors[t]!.max]);
    }
    for (const r of two.res.results) expect(r.table.meta?.fastMode).toMatchObject({ sampleValues: 64, sampledTensors: 3 });
    expect(exact.results[0]!.table.meta?.fastMode).toBeUndefined();
  });

  test('a new input shape mid-run: sampled with a step that divides every size seen; a batch with NaN is counted per value', async () => {
    const b1 = batch(2, 16);
    const b2 = batch(3, 20); // 960 values
    const b4 = batch(5, 24); // 1152 values
    const b3 = batch(4, 20);
    b3[5] = NaN;
    b3[6] = NaN;
    const { snaps, res } = await pass([b1, b1, b2, b2, b4, b4, b3], 64);
    const ent = snaps[1]!.tensors.x!;
    // The first two shapes are whole once each (a batch starts before the previous one told its
    // sizes, so twice) and sampled in JS: 768 / 3, 960 / 15. The third shape is new: step 3
    // divides the gcd of the sizes seen (192), so the graph samples 1152 / 3 = 384 values at once;
    // then the NaN batch whole: 958 finite values and 2 NaN.
    expect(ent.finite).toBe(2 * 256 + 2 * 64 + 2 * 384 + 958);
    expect(ent.nan).toBe(2);
    expect([ent.min, ent.max]).toEqual([-12, 14]); // b4's -7-5 and 9+5, from the extremes
    for (const r of res.results) expect(r.table.tensors.x!.nanCount).toBe(2);
    // z = Relu(x), derived from x's sample: the NaN batch is whole for it too.
    for (const r of res.results.slice(1)) expect(r.table.tensors.z!.nanCount).toBe(2);
  });
});

test('a guessed step that does not divide a new shape\'s size: that batch runs again with whole tensors', async () => {
  // x [1, 1, 1, W] → y = Relu(x): sizes 70 and 105 (gcd 35), then 22, which the guessed step 7 does not divide.
  const vi = (n: string) => ({ name: n, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimValue: 1 }, { dimValue: 1 }, { dimValue: 1 }, { dimParam: 'W' }] } } } });
  const m = {
    irVersion: 7, opsetImport: [{ domain: '', version: 13 }],
    graph: { name: 'g', node: [node('Relu', ['x'], ['y'])], initializer: [], input: [vi('x')], output: [vi('y')], valueInfo: [] },
  } as OnnxModel;
  const file = path.join(dir, 'odd.onnx');
  fs.writeFileSync(file, encodeModel(m));
  const w70 = Float32Array.from({ length: 70 }, (_, i) => i - 35);
  const w105 = Float32Array.from({ length: 105 }, (_, i) => i - 52);
  const w22 = Float32Array.from({ length: 22 }, (_, i) => 2 * i - 21);
  const src: DataSource = { async *[Symbol.asyncIterator]() { for (const b of [w70, w70, w105, w105, w22, w22, w70]) yield { x: { type: 'float32' as const, data: b, dims: [1, 1, 1, b.length] } }; } };
  const { collectors, registry } = loadCollectors([['entropy', { threads: 1 }]], { configDir: dir, cwd: dir });
  const prepared = await prepareCalibration({ model: file, data: { data: src, batchSize: 1 }, collectors, registry, sampleValues: 4 });
  const { instances } = await collectPass(prepared);
  const x = (instances[0]!.snapshot!() as { tensors: Record<string, { finite: number; min: number; max: number }> }).tensors.x!;
  // 70 at step 7 (10), 105 at step 21 (5), both whole twice and sampled in JS; 22: the guess
  // (step 7, from gcd 35) is refused, whole again, step 2 (11); the last 70 in-graph at step 7.
  expect(x.finite).toBe(10 + 10 + 5 + 5 + 11 + 11 + 10);
  expect([x.min, x.max]).toEqual([-52, 52]);
});

