import * as ort from 'onnxruntime-node';
import { DataType, encodeModel, makeFloatTensor, type OnnxModel, type OnnxNode } from '../../../src/onnx/model';
import { floatAttr, makeNode } from '../../../src/onnx/graph-builder';
import { buildQdqModel } from '../../../src/qdq/build-qdq';
import { liveIntervals, saturateRanges, valueIntervals } from '../../../src/qdq/passes/saturation-ranges';
import type { CalibrationTable } from '../../../src/table';

const f = (dims: number[]) => ({ tensorType: { elemType: DataType.FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } });
const N = 401;

function model(nodes: OnnxNode[], inits: ReturnType<typeof makeFloatTensor>[], outputs: string[]): OnnxModel {
  return {
    irVersion: 8, opsetImport: [{ domain: '', version: 13 }],
    graph: { name: 'g', input: [{ name: 'x', type: f([N]) }], output: outputs.map((name) => ({ name, type: f([N]) })), valueInfo: [], initializer: inits, node: nodes },
  } as unknown as OnnxModel;
}

/** paddle2onnx's HardSwish: y = x·Clip(x+3, 0, 6)/6, as in PP-LCNet (PP-OCRv4's backbone). */
function hardSwish(): OnnxModel {
  return model([
    makeNode('Add', ['x', 'three'], ['a'], 'add'),
    makeNode('Clip', ['a', 'zero', 'six'], ['c'], 'clip'),
    makeNode('Mul', ['x', 'c'], ['m'], 'mul'),
    makeNode('Div', ['m', 'six'], ['y'], 'div'),
  ], [makeFloatTensor('three', [], [3]), makeFloatTensor('zero', [], [0]), makeFloatTensor('six', [], [6])], ['y']);
}

describe('saturation-aware ranges', () => {
  it('live intervals of the decomposed HardSwish (hand-worked)', () => {
    const live = liveIntervals(hardSwish());
    // x: Add(x, 3) → Clip(0, 6) sees x in [−3, 3]; Mul(x, Clip(x+3, 0, 6)) is 0 for x <= −3: union [−3, ∞).
    expect(live.get('x')).toEqual({ lo: -3, hi: Infinity });
    expect(live.get('a')).toEqual({ lo: 0, hi: 6 });
    // c is read by Mul with x (not a gate of c), m by Div (no saturation), y is the graph output.
    expect(live.has('c')).toBe(false);
    expect(live.has('m')).toBe(false);
    expect(live.has('y')).toBe(false);
    const val = valueIntervals(hardSwish());
    // x·(x+3) on [−3, 3] has its minimum −9/4 at x = −3/2; /6 → −3/8 (HardSwish's minimum).
    expect(val.get('c')).toEqual({ lo: 0, hi: 6 });
    expect(val.get('m')).toEqual({ lo: -2.25, hi: Infinity });
    expect(val.get('y')).toEqual({ lo: -0.375, hi: Infinity });
  });

  it('bounds a tensor only when every consumer saturates', () => {
    const relu = makeNode('Relu', ['x'], ['r'], 'relu');
    const clip = makeNode('Clip', ['x', 'lo', 'hi'], ['c'], 'clip');
    const hs = makeNode('HardSigmoid', ['x'], ['h'], 'hs', [floatAttr('alpha', 0.2), floatAttr('beta', 0.5)]);
    const inits = [makeFloatTensor('lo', [], [-1]), makeFloatTensor('hi', [], [1])];
    expect(liveIntervals(model([relu, clip], inits, ['r', 'c'])).get('x')).toEqual({ lo: -1, hi: Infinity });
    // HardSigmoid(0.2x + 0.5) is 0 below −2.5 and 1 above 2.5.
    expect(liveIntervals(model([hs], [], ['h'])).get('x')).toEqual({ lo: -2.5, hi: 2.5 });
    // A Sigmoid consumer (no saturation point) or a graph output keeps x unbounded.
    expect(liveIntervals(model([relu, makeNode('Sigmoid', ['x'], ['s'], 'sig')], [], ['r', 's'])).has('x')).toBe(false);
    const out = model([relu], [], ['r']);
    out.graph!.output.push({ name: 'x', type: f([N]) } as never);
    expect(liveIntervals(out).has('x')).toBe(false);
    // Through a one-value Mul/Add: x·2 + 1 → Relu needs x >= −0.5; a per-element constant stops it.
    const affine = model([makeNode('Mul', ['x', 'two'], ['t'], 'm'), makeNode('Add', ['t', 'one'], ['u'], 'a'), makeNode('Relu', ['u'], ['r'], 'r')],
      [makeFloatTensor('two', [], [2]), makeFloatTensor('one', [], [1])], ['r']);
    expect(liveIntervals(affine).get('x')).toEqual({ lo: -0.5, hi: Infinity });
    const varying = model([makeNode('Add', ['x', 'k'], ['u'], 'a'), makeNode('Relu', ['u'], ['r'], 'r')], [makeFloatTensor('k', [N], new Array(N).fill(0).map((_, i) => i))], ['r']);
    expect(liveIntervals(varying).has('x')).toBe(false);
  });

  it('narrows table ranges with one grid step of margin beyond a saturation point', () => {
    const table: CalibrationTable = { collector: 't', options: {}, tensors: { x: { min: -20, max: 20 }, a: { min: -17, max: 23 }, c: { min: -6, max: 6 }, m: { min: -140, max: 140 } } };
    const { table: t, saturated } = saturateRanges(hardSwish(), table);
    expect(t.tensors.x).toEqual({ min: expect.closeTo(-3 - 23 / 254, 12), max: 20 });
    expect(t.tensors.a).toEqual({ min: 0, max: expect.closeTo(6 + 6 / 254, 12) });
    // Producer bounds (no margin: no value lies beyond them).
    expect(t.tensors.c).toEqual({ min: 0, max: 6 });
    expect(t.tensors.m).toEqual({ min: -2.25, max: 140 });
    expect(saturated.map((s) => s.tensor).sort()).toEqual(['a', 'c', 'm', 'x']);
    expect(table.tensors.x).toEqual({ min: -20, max: 20 }); // input untouched
  });

  it('QDQ HardSwish: exact zero below −3 and a finer grid above (onnxruntime)', async () => {
    const m = hardSwish();
    const xs = Float32Array.from({ length: N }, (_, i) => -20 + (40 * i) / (N - 1));
    const fp = xs.map((v) => (v * Math.min(6, Math.max(0, v + 3))) / 6);
    // A symmetric collector's ranges (as ifmr gives): half of x's grid below −3, where nothing matters.
    const table: CalibrationTable = { collector: 't', options: {}, tensors: { x: { min: -20, max: 20 }, a: { min: -23, max: 23 }, c: { min: -6, max: 6 }, m: { min: -140, max: 140 } } };
    const run = async (q: OnnxModel): Promise<Float32Array> => {
      const s = await ort.InferenceSession.create(encodeModel(q));
      const r = await s.run({ x: new ort.Tensor('float32', xs, [N]) });
      await s.release();
      return r.y!.data as Float32Array;
    };
    // Each step quantized (fuse-activations off: it would leave the chain float, see fuse-activations.test).
    const on = buildQdqModel(m, table, { fuseActivations: false });
    const off = buildQdqModel(m, table, { saturationRanges: false, fuseActivations: false });
    expect(on.report.saturated.map((s) => s.tensor).sort()).toEqual(['a', 'c', 'm', 'x']);
    expect(off.report.saturated).toEqual([]);
    const yOn = await run(on.model), yOff = await run(off.model);
    const err = (y: Float32Array, keep: (v: number) => boolean): number => Math.max(...Array.from(y, (v, i) => (keep(xs[i]!) ? Math.abs(v - fp[i]!) : 0)));
    for (let i = 0; i < N; i++) if (xs[i]! <= -3) expect(yOn[i]).toBe(0);
    // m's grid: 142.25/255 instead of 280/255 — the output error (m's rounding / 6 dominates) halves.
    expect(err(yOn, () => true)).toBeLessThan(0.6 * err(yOff, () => true));
    expect(err(yOn, () => true)).toBeLessThan((142.25 / 255 / 2 + 0.1) / 6 + 0.05);
  });
});
