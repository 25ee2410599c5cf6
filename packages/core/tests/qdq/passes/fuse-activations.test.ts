import * as fc from 'fast-check';
import { DataType, loadModel, makeFloatTensor, opsetVersion, type OnnxModel, type OnnxNode } from '../../../src/onnx/model';
import { floatAttr, intAttr, makeNode } from '../../../src/onnx/graph-builder';
import { buildQdqModel } from '../../../src/qdq/build-qdq';
import { quantizedTensorNames } from '../../../src/qdq/quantized-tensors';
import { DET_MODEL, REC_MODEL } from '../../../../../test-support/paths';
import { roundEven } from '../../../src/qdq/quant-params';
import { canDeclareOpset14, findActivationChains, replaceWithHardSwish } from '../../../src/qdq/passes/fuse-activations';
import { feed, minmaxTable, rng, runAll } from './pass-support';

const N = 64;
const f = (dims: number[]) => ({ tensorType: { elemType: DataType.FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } });
const consts = () => [makeFloatTensor('three', [], [3]), makeFloatTensor('zero', [], [0]), makeFloatTensor('six', [], [6]), makeFloatTensor('sixth', [], [Math.fround(1 / 6)]),
  makeFloatTensor('four', [], [4]), makeFloatTensor('two', [], [2]), makeFloatTensor('five', [], [5]), makeFloatTensor('one', [], [1])];

function model(nodes: OnnxNode[], outputs: string[], opset = 13, inputs = ['x']): OnnxModel {
  const read = new Set(nodes.flatMap((n) => n.input));
  return {
    irVersion: 8, opsetImport: [{ domain: '', version: opset }],
    graph: { name: 'g', input: inputs.map((name) => ({ name, type: f([N]) })), output: outputs.map((name) => ({ name, type: f([N]) })), valueInfo: [], initializer: consts().filter((t) => read.has(t.name!)), node: nodes },
  } as unknown as OnnxModel;
}

/** paddle2onnx's HardSwish with every part replaceable: Add(x, add) → Clip(·, lo, hi) → Mul(x|other, ·) → Div(·, div). */
function paddle(o: { add?: string; hi?: string; mulWith?: string; div?: string; swap?: boolean } = {}): OnnxNode[] {
  return [
    makeNode('Add', o.swap ? [o.add ?? 'three', 'x'] : ['x', o.add ?? 'three'], ['a'], 'add'),
    makeNode('Clip', ['a', 'zero', o.hi ?? 'six'], ['c'], 'clip'),
    makeNode('Mul', o.swap ? ['c', o.mulWith ?? 'x'] : [o.mulWith ?? 'x', 'c'], ['m'], 'mul'),
    makeNode('Div', ['m', o.div ?? 'six'], ['y'], 'div'),
  ];
}

describe('fuse-activations: which chains match (hand-worked)', () => {
  it('the forms of HardSwish: paddle2onnx’s x·Clip(x+3, 0, 6)/6 (either operand order), ·(1/6) as Mul, the /6 before the gate, x·HardSigmoid(x)', () => {
    const [c] = findActivationChains(model(paddle(), ['y']));
    expect(c).toMatchObject({ kind: 'hardswish', input: 'x', output: 'y', internal: ['a', 'c', 'm'] });
    expect(c!.nodes.map((n) => n.name)).toEqual(['add', 'clip', 'mul', 'div']);
    expect(findActivationChains(model(paddle({ swap: true }), ['y']))).toHaveLength(1);
    const sixth = paddle();
    sixth[3] = makeNode('Mul', ['sixth', 'm'], ['y'], 'mul6');
    expect(findActivationChains(model(sixth, ['y']))[0]).toMatchObject({ output: 'y', internal: ['a', 'c', 'm'] });
    const gateFirst = [paddle()[0]!, paddle()[1]!, makeNode('Div', ['c', 'six'], ['s'], 'div'), makeNode('Mul', ['s', 'x'], ['y'], 'mul')];
    expect(findActivationChains(model(gateFirst, ['y']))[0]).toMatchObject({ input: 'x', output: 'y', internal: ['a', 'c', 's'] });
    const hsig = [makeNode('HardSigmoid', ['x'], ['h'], 'hs', [floatAttr('alpha', Math.fround(1 / 6)), floatAttr('beta', 0.5)]), makeNode('Mul', ['x', 'h'], ['y'], 'mul')];
    expect(findActivationChains(model(hsig, ['y']))[0]).toMatchObject({ input: 'x', output: 'y', internal: ['h'] });
  });

  it('leaves alone what is not exactly a HardSwish of one tensor', () => {
    const none = (nodes: OnnxNode[], outputs = ['y'], inputs = ['x']) => expect(findActivationChains(model(nodes, outputs, 13, inputs))).toEqual([]);
    none(paddle({ hi: 'four' })); // Clip(0, 4): another function
    none(paddle({ add: 'two' })); // x+2
    none(paddle({ div: 'five' })); // /5
    none(paddle({ mulWith: 'z' }), ['y'], ['x', 'z']); // gate computed from x multiplies z: an SE-like product
    // A chain tensor with another reader, or that is a graph output, must keep its Q/DQ.
    none([...paddle(), makeNode('Relu', ['c'], ['r'], 'relu')], ['y', 'r']);
    none([...paddle(), makeNode('Relu', ['a'], ['r'], 'relu')], ['y', 'r']);
    none([...paddle(), makeNode('Relu', ['m'], ['r'], 'relu')], ['y', 'r']);
    none(paddle(), ['y', 'm']);
    none(paddle(), ['y', 'a']);
    // HardSigmoid with PyTorch's/ONNX's default α = 0.2 is not HardSwish's gate; x·HardSigmoid(s) neither.
    none([makeNode('HardSigmoid', ['x'], ['h'], 'hs', [floatAttr('alpha', 0.2), floatAttr('beta', 0.5)]), makeNode('Mul', ['x', 'h'], ['y'], 'mul')]);
    none([makeNode('HardSigmoid', ['z'], ['h'], 'hs', [floatAttr('alpha', Math.fround(1 / 6)), floatAttr('beta', 0.5)]), makeNode('Mul', ['x', 'h'], ['y'], 'mul')], ['y'], ['x', 'z']);
    // The affine after it stops at a per-element constant, at a divisor y (k / y), at a value with a second reader.
    const vec = makeFloatTensor('vec', [N], Float32Array.from({ length: N }, (_, i) => 1 + i / N));
    const after = (ops: OnnxNode[], outputs: string[], extra = [] as ReturnType<typeof makeFloatTensor>[]) => {
      const mm = model([...paddle(), ...ops], outputs);
      mm.graph!.initializer.push(...extra, makeFloatTensor('k', [], [0.5]));
      return findActivationChains(mm).map((c) => c.output);
    };
    expect(after([makeNode('Mul', ['y', 'vec'], ['v'], 'v')], ['v'], [vec])).toEqual(['y']);
    // One value per channel ([C, 1, 1] or [1, C, 1, 1]) is elementwise too: taken in.
    const perChannel = [makeFloatTensor('ch3', [4, 1, 1], [1, 2, 3, 4]), makeFloatTensor('ch4', [1, 4, 1, 1], [0, 1, 0, 1])];
    expect(after([makeNode('Mul', ['y', 'ch3'], ['v'], 'v'), makeNode('Add', ['ch4', 'v'], ['w'], 'w')], ['w'], perChannel)).toEqual(['w']);
    expect(after([makeNode('Div', ['y', 'ch4'], ['v'], 'v')], ['v'], perChannel)).toEqual(['y']); // a zero divisor
    expect(after([makeNode('Div', ['k', 'y'], ['v'], 'v')], ['v'])).toEqual(['y']);
    expect(after([makeNode('Sub', ['k', 'y'], ['v'], 'v'), makeNode('Div', ['v', 'k'], ['w'], 'w')], ['w'])).toEqual(['w']);
    expect(after([makeNode('Mul', ['y', 'k'], ['v'], 'v'), makeNode('Add', ['v', 'k'], ['w'], 'w'), makeNode('Relu', ['v'], ['r'], 'r')], ['w', 'r'])).toEqual(['v']); // v has two readers: the chain ends there
    expect(after([makeNode('Mul', ['y', 'k'], ['v'], 'v')], ['v', 'y'])).toEqual(['y']);
    // A native HardSwish is a chain only with an affine after it (alone it is one op already).
    const native = (ops: OnnxNode[], out: string) => { const mm = model([makeNode('HardSwish', ['x'], ['h'], 'hs'), ...ops], [out], 14); mm.graph!.initializer.push(makeFloatTensor('k', [], [0.5])); return findActivationChains(mm); };
    expect(native([], 'h')).toEqual([]);
    expect(native([makeNode('Add', ['h', 'k'], ['v'], 'v')], 'v')[0]).toMatchObject({ input: 'x', activation: 'h', output: 'v', internal: ['h'] });
    // x·x squared gate (the Mul reads the gate twice) is no chain either.
    none([paddle()[0]!, paddle()[1]!, makeNode('Mul', ['c', 'c'], ['m'], 'mul'), makeNode('Div', ['m', 'six'], ['y'], 'div')]);
  });

  it('any float32 constants (NaN, ±Infinity, denormals): a chain exactly when they are HardSwish’s 3, 0, 6 and 6 (property)', () => {
    const c = fc.oneof(fc.float(), fc.constantFrom(3, 0, 6, Math.fround(6 + 1e-6)));
    fc.assert(fc.property(c, c, c, c, (k, lo, hi, d) => {
      const m = model(paddle({ add: 'k', hi: 'hi', div: 'd' }).map((n) => (n.opType === 'Clip' ? { ...n, input: ['a', 'lo', 'hi'] } : n)), ['y']);
      m.graph!.initializer.push(makeFloatTensor('k', [], [k]), makeFloatTensor('lo', [], [lo]), makeFloatTensor('hi', [], [hi]), makeFloatTensor('d', [], [d]));
      const near = (v: number, w: number) => Math.abs(v - w) <= 1e-5 * w;
      const want = near(k, 3) && lo === 0 && near(hi, 6) && near(d, 6);
      expect(findActivationChains(m)).toHaveLength(want ? 1 : 0);
    }));
  });

  it('HardSwish node only where the opset allows: 13 is declared 14 unless a BatchNormalization has training outputs', () => {
    const m = model(paddle(), ['y']);
    const r = replaceWithHardSwish(m, findActivationChains(m));
    expect(r.replaced).toBe(1);
    expect(opsetVersion(r.model)).toBe(14);
    expect(r.model.graph!.node.map((n) => [n.opType, n.input, n.output])).toEqual([['HardSwish', ['x'], ['y']]]);
    expect(opsetVersion(m)).toBe(13); // input untouched
    const bn = makeNode('BatchNormalization', ['y', 'one', 'zero', 'zero', 'one'], ['z', 'mean', 'var'], 'bn');
    const training = model([...paddle(), bn], ['z']);
    expect(canDeclareOpset14(training)).toBe(false);
    expect(replaceWithHardSwish(training, findActivationChains(training)).replaced).toBe(0);
    expect(canDeclareOpset14(model(paddle(), ['y'], 12))).toBe(false);
    expect(canDeclareOpset14(model(paddle(), ['y'], 17))).toBe(true);
  });
});

describe('fuse-activations in the QDQ writer (a model built in the test)', () => {
  // in → Mul(·, 1) → x → HardSwish chain → y [→ Mul(·, a) → Add(·, b) → z] → Concat(·, ·) → out:
  // in, x, the chain's output and out are quantized (QLinearMul / QLinearConcat inputs and outputs);
  // the multiplication by 1 and the Concat (out has the same grid) are exact, so out is known by hand.
  const build = (affine: boolean): OnnxModel => {
    const last = affine ? 'z' : 'y';
    const nodes = [makeNode('Mul', ['in', 'one'], ['x'], 'pre'), ...paddle(),
      ...(affine ? [makeNode('Mul', ['y', 'lab_a'], ['ya'], 'lab_mul'), makeNode('Add', ['ya', 'lab_b'], ['z'], 'lab_add')] : []),
      makeNode('Concat', [last, last], ['out'], 'cat', [intAttr('axis', 0)])];
    const m = model(nodes, ['out'], 13, ['in']);
    m.graph!.output = [{ name: 'out', type: f([2 * N]) } as never];
    m.graph!.initializer.push(makeFloatTensor('lab_a', [1], [0.8]), makeFloatTensor('lab_b', [1], [0.1]));
    return m;
  };
  const r0 = rng(14);
  const feeds = [0, 1, 2].map(() => feed('in', [N], Float32Array.from({ length: N }, () => 12 * r0() - 6)));
  const qdq = (v: number, p: { scale: number; zeroPoint: number }) => (Math.min(255, Math.max(0, roundEven(v / p.scale) + p.zeroPoint)) - p.zeroPoint) * p.scale;
  const hswish = (v: number) => v * Math.min(6, Math.max(0, v + 3)) / 6;
  const check = (got: Float32Array[], want: Float32Array[], step: number): void => {
    let exact = 0, n = 0;
    got.forEach((g, k) => g.forEach((v, i) => {
      const w = want[k]![i % N]!;
      n++;
      // A float tie in hardswish may round to the neighbouring level: at most one step.
      expect(Math.abs(v - w)).toBeLessThanOrEqual(step * 1.001);
      if (Math.abs(v - w) < 1e-6) exact++;
    }));
    expect(exact / n).toBeGreaterThan(0.95);
  };

  it('one rounding for the activation: out = qdq_y(hardswish(qdq_x(qdq_in(in)))) with the written scales; four without the pass', async () => {
    const m = build(false);
    const table = await minmaxTable(m, feeds);
    const fused = buildQdqModel(m, table);
    expect(fused.report.fusedActivations).toEqual({ chains: 1, floatTensors: 3, replaced: 1 });
    expect(fused.report.tensors.map((t) => t.name).sort()).toEqual(['in', 'out', 'x', 'y']);
    expect(fused.report.skipped.filter((s) => /HardSwish chain ending in "y"/.test(s.reason)).map((s) => s.name).sort()).toEqual(['a', 'c', 'm']);
    expect(fused.model.graph!.node.filter((n) => n.opType === 'HardSwish')).toHaveLength(1);
    const p = Object.fromEntries(fused.report.tensors.map((t) => [t.name, t]));
    const want = feeds.map((fd) => Float32Array.from(fd.in!.data as Float32Array, (v) => qdq(hswish(qdq(qdq(v, p.in!), p.x!)), p.y!)));
    const got = await runAll(fused.model, feeds);
    check(got, want, p.y!.scale);

    const split = buildQdqModel(m, table, { fuseActivations: false });
    expect(split.report.fusedActivations).toEqual({ chains: 0, floatTensors: 0, replaced: 0 });
    expect(split.report.tensors.map((t) => t.name).sort()).toEqual(['a', 'c', 'in', 'm', 'out', 'x', 'y']);
    expect(split.model.graph!.node.some((n) => n.opType === 'HardSwish')).toBe(false);
    // Without the pass the chain's own tensors are rounded too: further from the fused formula.
    const splitOut = await runAll(split.model, feeds);
    const dev = (a: Float32Array[]) => a.reduce((s, g, k) => s + g.reduce((t, v, i) => t + Math.abs(v - want[k]![i % N]!), 0), 0);
    expect(dev(splitOut)).toBeGreaterThan(dev(got));
  });

  it('the one-value affine after it joins the activation: out = qdq_z(0.8·hardswish(qdq_x(qdq_in(in))) + 0.1)', async () => {
    const m = build(true);
    const [c] = findActivationChains(m);
    expect(c).toMatchObject({ input: 'x', activation: 'y', output: 'z', internal: ['a', 'c', 'm', 'y', 'ya'] });
    expect(c!.affine.map((n) => n.name)).toEqual(['lab_mul', 'lab_add']);
    const table = await minmaxTable(m, feeds);
    const fused = buildQdqModel(m, table);
    expect(fused.report.fusedActivations).toEqual({ chains: 1, floatTensors: 5, replaced: 1 });
    expect(fused.report.tensors.map((t) => t.name).sort()).toEqual(['in', 'out', 'x', 'z']);
    // HardSwish writes y; the Mul and Add stay, in float.
    expect(fused.model.graph!.node.filter((n) => ['HardSwish', 'Mul', 'Add'].includes(n.opType)).map((n) => `${n.opType}:${n.output[0]}`)).toEqual(['Mul:x', 'HardSwish:y', 'Mul:ya', 'Add:z']);
    const p = Object.fromEntries(fused.report.tensors.map((t) => [t.name, t]));
    const want = feeds.map((fd) => Float32Array.from(fd.in!.data as Float32Array, (v) => qdq(Math.fround(Math.fround(0.8) * hswish(qdq(qdq(v, p.in!), p.x!))) + Math.fround(0.1), p.z!)));
    check(await runAll(fused.model, feeds), want, p.z!.scale);
  });

  it('below opset 14 the chain runs as float ops between DQ and Q when the opset cannot be declared 14', () => {
    const bn = makeNode('BatchNormalization', ['out', 'one', 'zero', 'zero', 'one'], ['bn_out', 'mean', 'var'], 'bn');
    const mm = build(false);
    mm.graph!.node.push(bn);
    mm.graph!.output = [{ name: 'bn_out', type: f([2 * N]) } as never];
    const table = { collector: 'minmax', options: {}, tensors: Object.fromEntries(['in', 'x', 'a', 'c', 'm', 'y', 'out'].map((t) => [t, { min: -6, max: 6 }])) };
    const r = buildQdqModel(mm, table, { foldBatchNorm: false });
    expect(r.report.fusedActivations).toEqual({ chains: 1, floatTensors: 3, replaced: 0 });
    expect(opsetVersion(r.model)).toBe(13);
    const byOut = new Map(r.model.graph!.node.map((n) => [n.output[0], n]));
    // The chain reads x's DequantizeLinear and nothing inside it is quantized.
    expect(byOut.get('a')!.input[0]).toBe(r.report.dequantized.x);
    for (const t of ['a', 'c', 'm']) expect(r.report.dequantized[t]).toBeUndefined();
    expect(r.model.graph!.node.filter((n) => n.opType === 'QuantizeLinear').map((n) => n.input[0]).sort()).toEqual(['in', 'out', 'x', 'y']);
  });
});

/** Three lines of dark glyph-like blocks on white, normalized as paddleocr-det does (ImageNet mean/std): the detector's output is not all zero. */
function textScene(sz: number, seed: number): Float32Array {
  const r = rng(seed);
  const img = new Float32Array(sz * sz).fill(1);
  for (let line = 0; line < 3; line++) {
    const y0 = 12 + line * 28 + Math.floor(r() * 4);
    for (let c = 0; c < 8; c++) for (let y = y0; y < y0 + 12; y++) for (let x = 8 + c * 10; x < 15 + c * 10; x++) if (r() < 0.6) img[y * sz + x] = 0.1;
  }
  const mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];
  return Float32Array.from({ length: 3 * sz * sz }, (_, i) => { const ch = Math.floor(i / (sz * sz)); return (img[i % (sz * sz)]! - mean[ch]!) / std[ch]!; });
}

describe('fuse-activations on the PP-OCRv4 models', () => {
  it.each([['det', DET_MODEL], ['rec', REC_MODEL]])('%s: every Clip is a paddle2onnx HardSwish gate, followed by its learnable affine; the calibration scope drops exactly their inner tensors', (_k, file) => {
    const { model: m } = loadModel(file);
    const clips = m.graph!.node.filter((n) => n.opType === 'Clip').length;
    const chains = findActivationChains(m);
    expect(chains).toHaveLength(clips);
    // PP-LCNetV3: act → Mul(scale) → Add(bias), both one value.
    expect(chains.every((c) => c.internal.length === 5 && c.nodes.map((n) => n.opType).join() === 'Add,Clip,Mul,Div' && c.affine.map((n) => n.opType).join() === 'Mul,Add')).toBe(true);
    const fused = quantizedTensorNames(m)!;
    const split = quantizedTensorNames(m, 'smart', { fuseActivations: false })!;
    const inner = new Set(chains.flatMap((c) => c.internal));
    expect([...split].filter((t) => !inner.has(t)).sort()).toEqual([...fused].sort());
    expect(split.size - fused.size).toBe(inner.size);
    for (const c of chains) { expect(fused.has(c.input)).toBe(true); expect(fused.has(c.output)).toBe(true); }
  });

  it('det: the QDQ model has one HardSwish per chain (opset 11 → 14), runs, and stays as close to FP32 as with the chain quantized step by step', async () => {
    const { model: m } = loadModel(DET_MODEL);
    const feeds = [3, 4].map((seed) => feed('x', [1, 3, 96, 96], textScene(96, seed)));
    const all = await minmaxTable(m, feeds);
    // (Constant node outputs of integer type have no float range.)
    const table = { ...all, tensors: Object.fromEntries(Object.entries(all.tensors).filter(([, e]) => Number.isFinite(e.min))) };
    const fused = buildQdqModel(m, table);
    const split = buildQdqModel(m, table, { fuseActivations: false });
    expect(fused.report.fusedActivations).toEqual({ chains: 24, floatTensors: 120, replaced: 24 });
    expect(opsetVersion(fused.model)).toBe(14);
    expect(fused.model.graph!.node.filter((n) => n.opType === 'HardSwish')).toHaveLength(24);
    expect(split.report.tensors.length - fused.report.tensors.length).toBe(120);
    const cos = (a: Float32Array[], b: Float32Array[]) => {
      let d = 0, p = 0, q = 0;
      a.forEach((x, k) => x.forEach((v, i) => { const w = b[k]![i]!; d += v * w; p += v * v; q += w * w; }));
      return d / Math.sqrt(p * q);
    };
    const [fp, a, b] = await Promise.all([runAll(m, feeds), runAll(fused.model, feeds), runAll(split.model, feeds)]);
    // Both INT8 models are close to FP32 (the detector's text map), the fused one no further.
    expect(cos(fp, a)).toBeGreaterThan(0.95);
    expect(cos(fp, a)).toBeGreaterThan(cos(fp, b) - 0.01);
  });
});
