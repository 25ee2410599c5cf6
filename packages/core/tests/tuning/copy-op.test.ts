/** @jest-environment ./packages/core/tests/tuning/ort-environment.js */
import * as ort from 'onnxruntime-node';
import { buildOpModel, createTuningContext, fakeQuantActivation } from '../../src/tuning';
import { copyWeights, isCopyOp } from '../../src/tuning/copy-op';
import { indexGraph } from '../../src/onnx/graph-index';
import { encodeModel } from '../../src/onnx/model';
import { openData } from '../../src/data';
import { silentLogger } from '../../src/logger';
import { constant, f32, makeModel, node, rng, samplesOf } from './models';

const W = 48;
const rand = rng(21);
const samples = Array.from({ length: 3 }, () => Float32Array.from({ length: 2 * W }, () => (rand() * 2 - 1) * 4));
samples[0]![3] = 30; // an outlier

const str = (name: string, s: string) => ({ name, type: 3, s: new TextEncoder().encode(s) });
/**
 * x [1,2,1,W] → relu → a;  x → sigmoid → b;  Concat(b, a, a) on channels → c;
 * a → Resize nearest ×(1,1,1,3) → u;  a → Resize linear ×(1,1,1,3) → v
 */
const model = makeModel([
  node('Relu', ['x'], ['a'], 'relu'),
  node('Sigmoid', ['x'], ['b'], 'sig'),
  node('Concat', ['b', 'a', 'a'], ['c'], 'concat', [{ name: 'axis', type: 2, i: 1 }]),
  constant('roi', f32('roi', [0], [])),
  constant('scales', f32('scales', [4], [1, 1, 1, 3])),
  node('Resize', ['a', 'roi', 'scales'], ['u'], 'up', [str('mode', 'nearest'), str('coordinate_transformation_mode', 'asymmetric'), str('nearest_mode', 'floor')]),
  node('Resize', ['a', 'roi', 'scales'], ['v'], 'lin', [str('mode', 'linear')]),
], ['x'], ['c', 'u', 'v'], 11, 2);
const index = indexGraph(model);

async function context(extra: { copies?: boolean; probes?: boolean } = {}) {
  const data = await openData({ data: samplesOf(samples, 'x', 2) }, [{ name: 'x', type: 'float32', dims: [null, 2, 1, null] }]);
  return createTuningContext({ model, index, data, tensors: index.calibratable, options: { tuneNum: 2 }, logger: silentLogger, ...extra });
}

/** Σ w·(a − fq(a))² over the tune samples' relu outputs, as a distance with ‖ref‖₁ = l1(sample). */
function closedForm(T: number, copies: number, l1: (x: Float32Array, a: Float32Array) => number): number {
  let sum = 0;
  for (const x of samples.slice(0, 2)) {
    const a = Float32Array.from(x, (v) => Math.max(0, v));
    const q = fakeQuantActivation(a, T);
    let sq = 0;
    for (let i = 0; i < a.length; i++) sq += copies * (a[i]! - q[i]!) ** 2;
    sum += Math.sqrt(sq) / l1(x, a);
  }
  return sum / 2;
}
const abs = (xs: Float32Array): number => xs.reduce((s, v) => s + Math.abs(v), 0);

describe('copy ops in closed form', () => {
  it('recognizes ops that only copy values (Resize only nearest)', () => {
    const at = (n: string) => index.nodes[index.nodeNames.indexOf(n)]!;
    expect(isCopyOp(at('concat'))).toBe(true);
    expect(isCopyOp(at('up'))).toBe(true);
    expect(isCopyOp(at('lin'))).toBe(false);
    expect(isCopyOp(at('relu'))).toBe(false);
  });

  it('counts each value\'s copies from onnxruntime\'s own op output, and refuses an op that does not copy', async () => {
    const sample = new Map<string, ort.Tensor>();
    const x = samples[0]!;
    const a = Float32Array.from(x, (v) => Math.max(0, v));
    const b = Float32Array.from(x, (v) => Math.fround(1 / (1 + Math.exp(-v))));
    const dims = [1, 2, 1, W];
    sample.set('a', new ort.Tensor('float32', a, dims));
    sample.set('b', new ort.Tensor('float32', b, dims));
    sample.set('x', new ort.Tensor('float32', x, dims));
    const session = async (name: string) => {
      const op = buildOpModel(model, index, index.nodeNames.indexOf(name));
      if ('skip' in op) throw new Error(op.skip);
      return { op, s: await ort.InferenceSession.create(encodeModel(op.model)) };
    };
    // The references as onnxruntime computes them, from the same op models.
    const concat = await session('concat');
    const c = (await concat.s.run({ a: sample.get('a')!, b: sample.get('b')! }, ['c'])).c!;
    sample.set('c', c);
    expect(Array.from((await copyWeights(concat.s, concat.op.activationInputs, 'a', 'c', sample))!)).toEqual(new Array(2 * W).fill(2));
    expect(Array.from((await copyWeights(concat.s, concat.op.activationInputs, 'b', 'c', sample))!)).toEqual(new Array(2 * W).fill(1));
    const up = await session('up');
    sample.set('u', (await up.s.run({ a: sample.get('a')! }, ['u'])).u!);
    expect(Array.from((await copyWeights(up.s, up.op.activationInputs, 'a', 'u', sample))!)).toEqual(new Array(2 * W).fill(3));
    // Linear interpolation makes values the positions do not name; Relu does not copy negative values.
    const lin = await session('lin');
    sample.set('v', (await lin.s.run({ a: sample.get('a')! }, ['v'])).v!);
    expect(await copyWeights(lin.s, lin.op.activationInputs, 'a', 'v', sample)).toBeUndefined();
    const relu = await session('relu');
    sample.set('a', new ort.Tensor('float32', a, dims));
    expect(await copyWeights(relu.s, relu.op.activationInputs, 'x', 'a', sample)).toBeUndefined();
    for (const s of [concat, up, lin, relu]) await s.s.release();
  });

  it('gives the distances of running the op (stack kernel and in-graph probe) up to summation order, and the written-out closed form', async () => {
    const fast = await context();
    const run = await context({ copies: false });
    const probe = await context({ probes: true });
    const thresholds = [0.5, 2, 4, 9, 30];
    try {
      for (const [tensor, consumer, copies, l1] of [
        ['a', 'concat', 2, (x: Float32Array, a: Float32Array) => 2 * abs(a) + abs(Float32Array.from(x, (v) => Math.fround(1 / (1 + Math.exp(-v)))))],
        ['a', 'up', 3, (_: Float32Array, a: Float32Array) => 3 * abs(a)],
      ] as const) {
        const d = await fast.distances(tensor, consumer, thresholds);
        const r = await run.distances(tensor, consumer, thresholds);
        const p = await probe.distances(tensor, consumer, thresholds);
        d.forEach((v, i) => {
          expect(Math.abs(v - r[i]!)).toBeLessThanOrEqual(1e-12 * r[i]!);
          expect(Math.abs(v - p[i]!)).toBeLessThanOrEqual(1e-12 * p[i]!);
          expect(v).toBeCloseTo(closedForm(thresholds[i]!, copies, l1), 5);
        });
      }
      expect(fast.stats).toMatchObject({ copies: 4, runs: 0 });
      expect(run.stats.copies).toBe(0);
      expect(run.stats.runs).toBeGreaterThan(0);
      // The linear Resize is no copy op: it runs.
      await fast.distances('a', 'lin', thresholds);
      expect(fast.stats.runs).toBe(2);
    } finally {
      for (const c of [fast, run, probe]) await c.release();
    }
  });
});
