/** @jest-environment ./packages/core/tests/tuning/ort-environment.js */
import * as ort from 'onnxruntime-node';
import { buildOpModel, createTuningContext, fakeQuantActivation } from '../../src/tuning';
import { buildTuneProbe } from '../../src/tuning/probe-model';
import { indexGraph } from '../../src/onnx/graph-index';
import { encodeModel } from '../../src/onnx/model';
import { openData } from '../../src/data';
import { silentLogger } from '../../src/logger';
import { conv1x1, makeModel, node, rng, samplesOf } from './models';

const i64 = (xs: number[]) => new ort.Tensor('int64', BigInt64Array.from(xs, BigInt), [xs.length]);

/** Σ (ref − probe output)² per candidate, with the probe cut around an Identity at `opset`. */
async function identityProbe(x: Float32Array, refs: Float32Array[], thresholds: number[], stacked: boolean, opset: number): Promise<number[]> {
  const m = makeModel([node('Identity', ['x'], ['y'], 'id')], ['x'], ['y'], opset);
  const ix = indexGraph(m);
  const op = buildOpModel(m, ix, 0);
  if ('skip' in op) throw new Error(op.skip);
  const probe = buildTuneProbe(op, 'x', stacked);
  const session = await ort.InferenceSession.create(encodeModel(probe.model));
  try {
    const dims = [1, 1, 1, x.length];
    const run = async (ts: number[], ref: Float32Array): Promise<number[]> => {
      const o = probe.outputs[0]!;
      const out = await session.run({
        [probe.xInput]: new ort.Tensor('float32', x, dims),
        [probe.scaleInput]: new ort.Tensor('float32', Float32Array.from(ts, (t) => Math.fround(127 / t)), [ts.length, 1]),
        [probe.shapeInput]: i64(stacked ? [-1, 1, 1, x.length] : dims),
        [o.ref]: new ort.Tensor('float32', ref, dims),
        [o.rows]: i64([-1, x.length]),
      });
      return Array.from(out[o.sq]!.data as Float64Array);
    };
    if (!stacked) return (await Promise.all(thresholds.map((t, i) => run([t], refs[i]!)))).flat();
    // Stacked: every candidate is compared with the same reference; give each threshold its own run of K = 3 copies.
    const res: number[] = [];
    for (let i = 0; i < thresholds.length; i++) res.push(...(await run([thresholds[i]!, thresholds[i]!, thresholds[i]!], refs[i]!)));
    return res;
  } finally {
    await session.release();
  }
}

describe('buildTuneProbe', () => {
  // Exact ties (x·127/T = k + ½ for both parities), values past the int8 range, ±Infinity, tiny and negative values.
  const T = 127 / 8; // scale exactly 8: x = k/16 lands on exact ties
  const x = Float32Array.from([0.0625, 0.1875, 0.3125, -0.0625, -0.1875, -0.3125, 1.234, -3.3, 15.9375, 16.0625, -16.0625, -16.1875, 1e6, -1e6, Infinity, -Infinity, 1e-30, -0.04, 5.5]);
  const thresholds = [T, 0.3, 7, 100];

  it.each([[9, false], [9, true], [13, true], [18, true]])('fake-quantizes in-graph exactly as fakeQuantActivation (opset %i, stacked %s)', async (opset, stacked) => {
    // Ties round half to even: 0.5 → 0, 1.5 → 2, 2.5 → 2, and 127.5 / -128.5 clip.
    expect(Array.from(fakeQuantActivation(x.subarray(0, 6), T), (v) => v * 8)).toEqual([0, 2, 2, -0, -2, -2]);
    // Infinity − Infinity is NaN: compare the finite part for the exact check, the infinite ends by value.
    const finite = Float32Array.from(x, (v) => (Number.isFinite(v) ? v : 0));
    const finiteRefs = thresholds.map((t) => fakeQuantActivation(finite, t));
    const sq = await identityProbe(finite, finiteRefs, thresholds, stacked, opset);
    expect(sq).toEqual(sq.map(() => 0));
    // A reference off by one quantization step in one value is seen (the check can fail).
    const off = finiteRefs.map((r) => { const c = Float32Array.from(r); c[1] = c[1]! + 0.1; return c; });
    const sqOff = await identityProbe(finite, off, thresholds, stacked, opset);
    expect(sqOff[0]).toBeCloseTo(0.01, 6);
  });

  it('clips ±Infinity to the int8 range', async () => {
    const inf = Float32Array.from([Infinity, -Infinity, 3]);
    const ref = fakeQuantActivation(inf, T);
    expect(Array.from(ref)).toEqual([15.875, -16, 3]);
    const sq = await identityProbe(inf, [ref], [T], false, 11);
    expect(sq).toEqual([0]);
  });
});

describe('in-graph and JavaScript fake quantization give the same distances', () => {
  const W1 = [[0.3], [-0.77]];
  const W2 = [[0.9, -0.4]];
  const rand = rng(11);
  const samples = Array.from({ length: 3 }, () => Float32Array.from({ length: 97 }, () => (rand() * 2 - 1) * 4));
  samples[0]![3] = 25;

  async function distances(opset: number): Promise<number[][]> {
    const m = makeModel([...conv1x1('conv1', 'x', 'c', W1), node('Relu', ['c'], ['r'], 'relu'), ...conv1x1('conv2', 'r', 'y', W2),
      // Not batchable (mixes dim 0): one candidate a run.
      node('Transpose', ['r'], ['t'], 'tr', [{ name: 'perm', type: 7, ints: [1, 0, 2, 3] }])], ['x'], ['y', 't'], opset);
    const ix = indexGraph(m);
    const data = await openData({ data: samplesOf(samples) }, [{ name: 'x', type: 'float32', dims: [null, 1, 1, null] }]);
    const ctx = await createTuningContext({ model: m, index: ix, data, tensors: ix.calibratable, options: { tuneNum: 3 }, logger: silentLogger });
    try {
      return await ctx.distancesMany([
        { tensor: 'r', consumer: 'conv2', thresholds: [0.5, 1, 2.5, 6, 25] },
        { tensor: 'c', consumer: 'relu', thresholds: [0.5, 3, 9, 25] },
        { tensor: 'x', consumer: 'conv1', thresholds: [4, 10, 25] },
        { tensor: 'r', consumer: 'tr', thresholds: [0.5, 2, 25] },
      ]);
    } finally {
      await ctx.release();
    }
  }

  it('opset 7 (JavaScript) and opset 11 (in-graph) agree to double precision', async () => {
    const js = await distances(7);
    const graph = await distances(11);
    expect(graph.map((r) => r.length)).toEqual([5, 4, 3, 3]);
    expect(graph[3]![0]).toBeGreaterThan(graph[3]![2]!);
    graph.forEach((row, i) => row.forEach((d, j) => expect(Math.abs(d - js[i]![j]!)).toBeLessThanOrEqual(1e-13 * js[i]![j]!)));
  });
});
