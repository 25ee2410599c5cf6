import { makeFloatTensor, type OnnxModel } from '../../../src/onnx/model';
import { intAttr, makeNode } from '../../../src/onnx/graph-builder';
import { Constants } from '../../../src/qdq/constants';
import { applyCrossLayerEqualization, equalizationFactors, findClePairs } from '../../../src/qdq/passes/cross-layer-equalization';
import { buildQdqModelWithPasses } from '../../../src/qdq/passes/pipeline';
import type { CalibrationTable } from '../../../src/table';
import { feed, maxDiff, minmaxTable, model, rmsDiff, rng, runAll } from './pass-support';

/** x[1,2,1,1] → Conv 1×1 (W1 rows [4, 2], [0.5, −1]; bias [1, 0.5]) → a → Relu → r → Conv 1×1 (W2 [[1, 2], [−0.5, 4]]) → y. */
function pairModel(act = 'Relu'): OnnxModel {
  return model(['x', [1, 2, 1, 1]], ['y', [1, 2, 1, 1]], [
    makeNode('Conv', ['x', 'W1', 'b1'], ['a'], 'conv1'), makeNode(act, ['a'], ['r'], 'act'), makeNode('Conv', ['r', 'W2'], ['y'], 'conv2'),
  ], [makeFloatTensor('W1', [2, 2, 1, 1], [4, 2, 0.5, -1]), makeFloatTensor('b1', [2], [1, 0.5]), makeFloatTensor('W2', [2, 2, 1, 1], [1, 2, -0.5, 4])]);
}

const randomFeeds = (seed: number, n: number, dims: number[], scale = 1) => {
  const r = rng(seed);
  return Array.from({ length: n }, () => feed('x', dims, Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => (r() * 2 - 1) * scale)));
};

describe('cross-layer equalization', () => {
  it('factors: s = sqrt(r1 / r2), hand-worked', () => {
    expect(Array.from(equalizationFactors([4, 1, 0, 9], [1, 4, 3, 0]))).toEqual([2, 0.5, 1, 1]);
  });

  it('equalizes a Conv → Relu → Conv pair, hand-worked; the float model is unchanged', async () => {
    const m = pairModel();
    const pairs = findClePairs(m);
    expect(pairs).toEqual([expect.objectContaining({ activation: 'Relu', channels: 2, first: expect.objectContaining({ key: 'a', axis: 0 }), second: expect.objectContaining({ key: 'y', axis: 1 }) })]);
    // r1 = max|row| = [4, 1], r2 = max|column| = [1, 4] → s = [2, 0.5]: W1 rows / s, b1 / s, W2 columns · s.
    const table: CalibrationTable = { collector: 't', options: {}, tensors: { x: { min: -1, max: 1 }, a: { min: -3, max: 6 }, r: { min: 0, max: 8 } } };
    const ranges = new Map([['a', { min: Float64Array.of(-4, -2), max: Float64Array.of(8, 1) }], ['r', { min: Float64Array.of(0, 0), max: Float64Array.of(8, 1) }]]);
    const out = applyCrossLayerEqualization(m, table, pairs, ranges);
    const c = new Constants(out.model.graph!);
    const conv = (k: number) => out.model.graph!.node[k]!.input;
    expect(Array.from(c.get(conv(0)[1]!)!.values)).toEqual([2, 1, 1, -2]);
    expect(Array.from(c.get(conv(0)[2]!)!.values)).toEqual([0.5, 1]);
    expect(Array.from(c.get(conv(2)[1]!)!.values)).toEqual([2, 1, -1, 2]);
    expect(out.iterations).toBe(2);
    expect(out.pairs).toEqual([{ first: 'a', second: 'y', activation: 'Relu', channels: 2, rangeRatioBefore: 4, rangeRatioAfter: 1 }]);
    // Channel ranges × 1/s = [0.5, 2]: a's channels become [−2, 4] and [−4, 2] → measured min stays −4
    // (table min −3 kept), max 8 → 4 (table max 6 → 3); r: max 8 → 4, min stays 0.
    expect(out.table.tensors).toEqual({ x: { min: -1, max: 1 }, a: { min: -3, max: 3 }, r: { min: 0, max: 4 } });
    const feeds = randomFeeds(3, 4, [1, 2, 1, 1], 2);
    expect(maxDiff(await runAll(out.model, feeds), await runAll(m, feeds))).toBeLessThan(1e-5);
  });

  it('data-aware mode balances the measured activation range against the second layer, hand-worked', async () => {
    const m = pairModel();
    const table: CalibrationTable = { collector: 't', options: {}, tensors: { r: { min: 0, max: 8 } } };
    // |r| per channel [8, 1], second layer's input-channel weight range [1, 4] → s = [√8, 1/2].
    const ranges = new Map([['r', { min: Float64Array.of(0, 0), max: Float64Array.of(8, 1) }]]);
    const out = applyCrossLayerEqualization(m, table, findClePairs(m), ranges, 20, 0, true);
    const c = new Constants(out.model.graph!);
    const s0 = Math.sqrt(8);
    expect(Array.from(c.get(out.model.graph!.node[2]!.input[1]!)!.values)).toEqual([1 * s0, 2 * 0.5, -0.5 * s0, 4 * 0.5].map((v) => expect.closeTo(v, 5)));
    // r's channels become [0, 8/√8] and [0, 1/(1/2)] = [0, √8] and [0, 2]: the table max 8 → √8.
    expect(out.table.tensors.r).toEqual({ min: 0, max: expect.closeTo(s0, 5) });
    const feeds = randomFeeds(4, 4, [1, 2, 1, 1], 2);
    expect(maxDiff(await runAll(out.model, feeds), await runAll(m, feeds))).toBeLessThan(1e-5);
  });

  it('passes only scale-equivariant activations: not HardSwish, HardSigmoid, Clip (Relu6) or Sigmoid', () => {
    expect(findClePairs(pairModel('LeakyRelu'))).toHaveLength(1);
    for (const act of ['HardSwish', 'HardSigmoid', 'Sigmoid', 'Clip']) expect(findClePairs(pairModel(act))).toEqual([]);
  });

  it('handles depthwise convolutions: conv → depthwise → Relu → conv gives two pairs, balanced against each other', async () => {
    const r = rng(11);
    const w = (n: number, scale: (i: number) => number) => Array.from({ length: n }, (_, i) => (r() * 2 - 1) * scale(i));
    const m = model(['x', [1, 3, 6, 6]], ['y', [1, 2, 6, 6]], [
      makeNode('Conv', ['x', 'W1', 'b1'], ['a'], 'conv1'),
      makeNode('Conv', ['a', 'Wd', 'bd'], ['d'], 'dw', [intAttr('group', 4), { name: 'pads', type: 7, ints: [1, 1, 1, 1] }]),
      makeNode('Relu', ['d'], ['r'], 'relu'),
      makeNode('Conv', ['r', 'W3'], ['y'], 'conv3'),
    ], [makeFloatTensor('W1', [4, 3, 1, 1], w(12, (i) => (i < 3 ? 20 : 1))), makeFloatTensor('b1', [4], [0.1, 0.2, 0.3, 0.4]),
      makeFloatTensor('Wd', [4, 1, 3, 3], w(36, (i) => (i >= 27 ? 10 : 1))), makeFloatTensor('bd', [4], [0, 0.1, 0, -0.1]),
      makeFloatTensor('W3', [2, 4, 1, 1], w(8, (i) => (i % 4 === 1 ? 0.05 : 1)))]);
    const pairs = findClePairs(m);
    expect(pairs.map((p) => [p.first.key, p.second.key, p.second.axis, p.activation ?? 'none'])).toEqual([['a', 'd', 0, 'none'], ['d', 'y', 1, 'Relu']]);
    const feeds = randomFeeds(12, 3, [1, 3, 6, 6]);
    const table = await minmaxTable(m, feeds);
    const ranges = new Map([['a', { min: new Float64Array(4).fill(-1), max: new Float64Array(4).fill(1) }]]);
    const out = applyCrossLayerEqualization(m, table, pairs, ranges);
    for (const p of out.pairs) { expect(p.rangeRatioAfter).toBeLessThan(1.05); expect(p.rangeRatioBefore).toBeGreaterThan(5); }
    expect(maxDiff(await runAll(out.model, feeds), await runAll(m, feeds))).toBeLessThan(1e-4);
  });

  it('ill-balanced channels: INT8 error drops measurably', async () => {
    // Conv1 output channel 0 is 30× the others, Conv2 reads it with 1/30 weights: the same function
    // as a balanced pair, but the Relu output's per-tensor range is set by channel 0.
    const r = rng(21);
    const w1 = Array.from({ length: 16 }, (_, i) => (r() * 2 - 1) * (i < 4 ? 30 : 1));
    const w2 = Array.from({ length: 12 }, (_, i) => (r() * 2 - 1) * (i % 4 === 0 ? 1 / 30 : 1));
    const m = model(['x', [1, 4, 6, 6]], ['y', [1, 3, 6, 6]], [
      makeNode('Conv', ['x', 'W1', 'b1'], ['a'], 'conv1'), makeNode('Relu', ['a'], ['r'], 'relu'), makeNode('Conv', ['r', 'W2', 'b2'], ['y'], 'conv2'),
    ], [makeFloatTensor('W1', [4, 4, 1, 1], w1), makeFloatTensor('b1', [4], [0.5, 0.1, 0.2, 0.3]), makeFloatTensor('W2', [3, 4, 1, 1], w2), makeFloatTensor('b2', [3], [0, 0, 0])]);
    const calib = randomFeeds(22, 8, [1, 4, 6, 6]), held = randomFeeds(23, 8, [1, 4, 6, 6]);
    const table = await minmaxTable(m, calib);
    const fp = await runAll(m, held);
    const plain = await buildQdqModelWithPasses(m, table);
    const eq = await buildQdqModelWithPasses(m, table, { crossLayerEqualization: true, calibration: calib });
    const before = rmsDiff(await runAll(plain.model, held), fp), after = rmsDiff(await runAll(eq.model, held), fp);
    expect(after).toBeLessThan(0.5 * before); // measured: 0.046 → 0.006
    // The writer's saturation-ranges pass follows (the Relu between the pair bounds its input at 0).
    expect(eq.report.passes).toEqual([{ name: 'cross-layer-equalization', summary: expect.objectContaining({ pairs: 1, samples: 8 }) }, { name: 'saturation-ranges', summary: { tensors: 1 } }]);
    // The rescaled table: the Relu output's range shrank with channel 0.
    expect(eq.report.table!.tensors.r!.max).toBeLessThan(table.tensors.r!.max / 3);
  });
});
