/**
 * Soundness of the proven NaN checks (onnx/nan-proofs.ts), by property: random chains of the ops
 * with proof rules (constants from tiny to huge, inputs up to 1e30, ±Infinity and NaN sometimes),
 * random calibrated subsets (the others are proven through); whenever a proof holds for a batch
 * and the tensor's in-graph min and max are finite, onnxruntime's full tensor holds no NaN.
 */
import * as ort from 'onnxruntime-node';
import fc from 'fast-check';
import { AttributeType, DataType, encodeModel, instrumentModel, makeFloatTensor, type OnnxModel, type OnnxNode } from '@qcal/core';
import { fuzzParams } from '../../../../test-support/fuzz';

const DIMS = [1, 2, 3, 3];
const N = 18;
const vi = (n: string, dims?: number[]) => ({ name: n, type: { tensorType: { elemType: DataType.FLOAT, ...(dims ? { shape: { dim: dims.map((d) => ({ dimValue: d })) } } : {}) } } });

const OPS = ['AddC', 'MulC', 'DivC', 'SubT', 'MulT', 'Conv', 'Sigmoid', 'Softmax', 'HardSigmoid', 'Relu', 'BN', 'GapMul'] as const;
type Step = { op: (typeof OPS)[number]; c: number; other: number; calibrated: boolean };

/** A magnitude from 2^-126 to 2^127, either sign. */
const wide = fc.tuple(fc.integer({ min: -126, max: 127 }), fc.boolean(), fc.double({ min: 1, max: 2, noNaN: true })).map(([e, neg, m]) => Math.fround((neg ? -1 : 1) * m * 2 ** e));
const step: fc.Arbitrary<Step> = fc.record({ op: fc.constantFrom(...OPS), c: wide, other: fc.nat(), calibrated: fc.boolean() });

function build(steps: Step[]): { model: OnnxModel; range: string[] } {
  const node: OnnxNode[] = [];
  const init = [];
  const outs = ['x'];
  const range = ['x'];
  steps.forEach((s, k) => {
    const prev = outs[outs.length - 1]!;
    const earlier = outs[s.other % outs.length]!;
    const t = `t${k}`;
    const c = `c${k}`;
    const n = (opType: string, input: string[], output = t, attribute: OnnxNode['attribute'] = []) => node.push({ opType, input, output: [output], name: `n_${output}`, attribute });
    switch (s.op) {
      case 'AddC': init.push(makeFloatTensor(c, [], [s.c])); n('Add', [prev, c]); break;
      case 'MulC': init.push(makeFloatTensor(c, [], [s.c])); n('Mul', [c, prev]); break;
      case 'DivC': init.push(makeFloatTensor(c, [], [s.c])); n('Div', [prev, c]); break;
      case 'SubT': n('Sub', [prev, earlier]); break;
      case 'MulT': n('Mul', [prev, earlier]); break;
      case 'Conv': init.push(makeFloatTensor(c, [2, 2, 3, 3], Array.from({ length: 36 }, (_, i) => Math.fround(s.c * Math.cos(i)))), makeFloatTensor(`${c}b`, [2], [1, -s.c])); n('Conv', [prev, c, `${c}b`], t, [{ name: 'pads', type: AttributeType.INTS, ints: [1, 1, 1, 1] }]); break;
      case 'Sigmoid': n('Sigmoid', [prev]); break;
      case 'Softmax': n('Softmax', [prev], t, [{ name: 'axis', type: AttributeType.INT, i: 1 }]); break;
      case 'HardSigmoid': n('HardSigmoid', [prev], t, [{ name: 'alpha', type: AttributeType.FLOAT, f: Math.fround(Math.abs(s.c)) }]); break;
      case 'Relu': n('Relu', [prev]); break;
      case 'BN': init.push(makeFloatTensor(`${c}s`, [2], [s.c, 1]), makeFloatTensor(`${c}b`, [2], [0.5, s.c]), makeFloatTensor(`${c}m`, [2], [-s.c, 0]), makeFloatTensor(`${c}v`, [2], [Math.abs(s.c), 1e-30])); n('BatchNormalization', [prev, `${c}s`, `${c}b`, `${c}m`, `${c}v`]); break;
      case 'GapMul': n('GlobalAveragePool', [prev], `${t}g`); n('Mul', [prev, `${t}g`]); if (range.includes(prev)) range.push(`${t}g`); break;
    }
    outs.push(t);
    if (s.calibrated) range.push(t);
  });
  const model = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: { name: 'g', node, initializer: init, input: [vi('x', DIMS)], output: [vi(outs[outs.length - 1]!)], valueInfo: [] },
  } as OnnxModel;
  // (A GlobalAveragePool output is calibrated only when its input is: graph order kept.)
  const order = new Map(node.flatMap((x, i) => x.output.map((o) => [o, i] as const)));
  return { model, range: [...new Set(range)].sort((a, b) => (order.get(a) ?? -1) - (order.get(b) ?? -1)) };
}

const input = fc.tuple(fc.array(wide.map((v) => Math.fround(v / 2 ** 27)), { minLength: N, maxLength: N }), fc.constantFrom('none', 'nan', 'inf', 'huge'), fc.nat({ max: N - 1 }))
  .map(([v, special, at]) => {
    const x = Float32Array.from(v);
    if (special === 'nan') x[at] = NaN;
    else if (special === 'inf') x[at] = -Infinity;
    else if (special === 'huge') x[at] = 3e38;
    return x;
  });

test('property: a proof that holds (with finite in-graph extremes) means no NaN in the full tensor', async () => {
  let checked = 0;
  let held = 0;
  await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 6 }), fc.array(input, { minLength: 1, maxLength: 3 }), async (steps, xs) => {
    const { model, range } = build(steps);
    const inst = instrumentModel(model, { full: [], range });
    const full = instrumentModel(model, { full: range, range: [] });
    const proofs = inst.packedRange?.proofs;
    if (!proofs) return;
    const s1 = await ort.InferenceSession.create(encodeModel(inst.model));
    const s2 = await ort.InferenceSession.create(encodeModel(full.model));
    try {
      for (const x of xs) {
        const feeds = { x: new ort.Tensor('float32', x, DIMS) };
        const packed = (await s1.run(feeds, inst.fetches as string[]))[inst.packedRange!.output]!.data as Float32Array;
        const values = await s2.run(feeds, full.fetches as string[]);
        // The runner's per-batch statistics (calibrate.ts runAll), in plan order.
        const stats = new Map<string, [number, number, number]>();
        const holds = proofs.checker((t) => stats.get(t));
        for (const e of inst.packedRange!.entries) {
          let st: [number, number, number];
          if (e.derived?.sources) {
            const ss = e.derived.sources.map((t) => stats.get(t)!);
            st = [...e.derived.map(Math.min(...ss.map((q) => q[0])), Math.max(...ss.map((q) => q[1]))), ss.reduce((a, q) => a + q[2], 0)];
          } else if (e.derived) {
            const q = stats.get(e.derived.source)!;
            st = [...e.derived.map(q[0], q[1]), q[2]];
          } else st = [packed[e.offset]!, packed[e.offset + 1]!, e.proven ? (holds(e.tensor) ? 0 : NaN) : packed[e.offset + 2]!];
          stats.set(e.tensor, st);
          if (!e.proven) continue;
          checked++;
          const [mn, mx, flag] = st;
          if (!(mn - mn + (mx - mx) + (flag - flag) === 0)) continue;
          held++;
          const v = values[e.tensor]!.data as Float32Array;
          expect({ tensor: e.tensor, steps: steps.map((q) => q.op).join(' '), nan: v.some(Number.isNaN) }).toEqual({ tensor: e.tensor, steps: steps.map((q) => q.op).join(' '), nan: false });
        }
      }
    } finally {
      await s1.release();
      await s2.release();
    }
  }), fuzzParams(300));
  // The property must have looked at proofs both holding and failing.
  expect(held).toBeGreaterThan(0);
  expect(checked).toBeGreaterThan(held);
}, 120_000);
