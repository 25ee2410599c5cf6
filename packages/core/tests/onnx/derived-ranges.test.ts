/**
 * Ranges derived through monotone elementwise ops (onnx/derived-ranges.ts): which tensors qualify,
 * and that the derived [min, max] equal the min/max of the values onnxruntime computes, bit for
 * bit, on inputs spread over many binades (where float32 rounding differs from exact arithmetic).
 */
import * as ort from 'onnxruntime-node';
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AttributeType, DataType, calibrate, encodeModel, instrumentModel, loadCollectors, makeFloatTensor, makeIntTensor, type DataSource, type OnnxModel, type OnnxNode } from '@qcal/core';
import { derivableRanges } from '../../src/onnx/derived-ranges';

const N = 64;
const node = (opType: string, input: string[], output: string, attribute: OnnxNode['attribute'] = []): OnnxNode => ({ opType, input, output: [output], name: `n_${output}`, attribute });
const vi = (n: string, dims?: number[]) => ({ name: n, type: { tensorType: { elemType: DataType.FLOAT, ...(dims ? { shape: { dim: dims.map((d) => ({ dimValue: d })) } } : {}) } } });

/** Opset 13: a chain of monotone maps of x, and ops that must not be derived. */
function model13(): OnnxModel {
  const k = (name: string, v: number) => makeFloatTensor(name, [], [v]);
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'g',
      node: [
        node('Add', ['x', 'three'], 'a'),
        node('Clip', ['a', 'zero', 'six'], 'b'),
        node('Mul', ['x', 'b'], 'c'), // two tensors: reduced
        node('Div', ['c', 'six'], 'd'),
        node('Mul', ['neg', 'd'], 'e'), // constant first, negative: min/max swap
        node('Sub', ['small', 'e'], 'f'), // constant minus tensor: decreasing
        node('Sub', ['f', 'eps'], 'g'),
        node('Relu', ['g'], 'h'),
        node('Div', ['h', 'negdiv'], 'k'),
        node('Reshape', ['k', 'shape'], 'r'),
        node('Transpose', ['r'], 'tr'),
        node('Clip', ['tr', '', 'six'], 'cl'), // upper bound only
        node('Mul', ['x', 'zero'], 'z'), // × 0: -0/+0 and NaN from ±∞, not derived
        node('Add', ['x', 'vec'], 'u'), // a vector constant: not a single value
        node('Mul', ['x', 'fed'], 'w'), // an initializer the caller may feed: not a constant
        node('Div', ['six', 'x'], 'inv'), // constant over tensor: not monotone
      ],
      initializer: [
        k('three', 3.1), k('zero', 0), k('six', 6), k('neg', -1.7), k('small', 0.3), k('eps', 1e-3), k('negdiv', -0.37),
        makeIntTensor('shape', [2], DataType.INT64, [8, 8]), makeFloatTensor('vec', [N], Array.from({ length: N }, (_, i) => i / 7)), k('fed', 2),
      ],
      input: [vi('x', [1, N]), vi('fed', [])],
      output: ['cl', 'z', 'u', 'w', 'inv'].map((n) => vi(n)),
      valueInfo: [],
    },
  } as OnnxModel;
}

/** Opset 9: Clip with attribute bounds (and Slice-1 for the derived tensor's consumer). */
function model9(): OnnxModel {
  return {
    irVersion: 4,
    opsetImport: [{ domain: '', version: 9 }],
    graph: {
      name: 'g',
      node: [
        node('Clip', ['x'], 'y', [{ name: 'min', type: AttributeType.FLOAT, f: -1.5 }, { name: 'max', type: AttributeType.FLOAT, f: 2.25 }]),
        node('Clip', ['y'], 'y2', [{ name: 'max', type: AttributeType.FLOAT, f: 1 }]),
        node('Mul', ['y2', 'y2'], 'q'),
      ],
      initializer: [],
      input: [vi('x', [1, N])],
      output: [vi('q')],
      valueInfo: [],
    },
  } as OnnxModel;
}

const RANGE13 = ['x', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'k', 'r', 'tr', 'cl', 'z', 'u', 'w', 'inv'];

test('which tensors are derived, from what', () => {
  const d = derivableRanges(model13().graph!, RANGE13);
  expect(Object.fromEntries([...d].map(([t, r]) => [t, r.source]))).toEqual({ a: 'x', b: 'a', d: 'c', e: 'd', f: 'e', g: 'f', h: 'g', k: 'h', r: 'k', tr: 'r', cl: 'tr' });
  // Only from a tensor that is itself in the range set.
  expect([...derivableRanges(model13().graph!, ['a', 'b']).keys()]).toEqual(['b']);
  expect(Object.fromEntries([...derivableRanges(model9().graph!, ['x', 'y', 'y2', 'q'])].map(([t, r]) => [t, r.source]))).toEqual({ y: 'x', y2: 'y' });
});

test('hand-worked maps: order-reversing constants swap min and max, clamps clamp', () => {
  const d = derivableRanges(model13().graph!, RANGE13);
  const f = Math.fround;
  expect(d.get('e')!.map(1, 2)).toEqual([f(2 * f(-1.7)), f(1 * f(-1.7))]); // × −1.7
  expect(d.get('f')!.map(-1, 4)).toEqual([f(f(0.3) - 4), f(f(0.3) + 1)]); // 0.3 − e
  expect(d.get('k')!.map(0, 5)).toEqual([f(5 / f(-0.37)), 0 / f(-0.37)]); // ÷ −0.37
  expect(d.get('b')!.map(-2, 9)).toEqual([0, 6]);
  expect(d.get('cl')!.map(-2, 9)).toEqual([-2, 6]);
  expect(d.get('h')!.map(-2, -1)).toEqual([0, 0]);
  // Every map returns float32 values, so that a chain of derivations rounds at each step as the
  // graph does (these inputs make every sum, product and quotient inexact).
  for (const [t, r] of d) for (const v of r.map(f(1 + 2 ** -23), f(12345.678))) expect({ t, v: Math.fround(v) }).toEqual({ t, v });
  const d9 = derivableRanges(model9().graph!, ['x', 'y', 'y2']);
  expect(d9.get('y')!.map(-7, 7)).toEqual([-1.5, 2.25]);
  expect(d9.get('y2')!.map(-1.5, 2.25)).toEqual([-1.5, 1]);
});

/** Values over many binades, both signs, some exact ties of x + 3.1 rounding. */
function batches(count: number): Float32Array[] {
  let s = 19;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  return Array.from({ length: count }, () => Float32Array.from({ length: N }, () => (r() < 0.5 ? -1 : 1) * 2 ** (r() * 40 - 20) * (1 + r())));
}

async function fullMinMax(m: OnnxModel, names: string[], data: Float32Array[], feedsFor: (x: Float32Array) => Record<string, ort.Tensor>) {
  const inst = instrumentModel(m, { full: names, range: [] });
  const session = await ort.InferenceSession.create(encodeModel(inst.model));
  const acc: Record<string, [number, number]> = {};
  for (const x of data) {
    const out = await session.run(feedsFor(x), inst.fetches as string[]);
    for (const n of names) {
      const v = out[n]!.data as Float32Array;
      const [lo, hi] = acc[n] ?? [Infinity, -Infinity];
      acc[n] = [Math.min(lo, ...v), Math.max(hi, ...v)];
    }
  }
  await session.release();
  return acc;
}

async function calibratedMinMax(m: OnnxModel, data: Float32Array[]) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qcal-derived-'));
  try {
    const file = path.join(dir, 'm.onnx');
    fs.writeFileSync(file, encodeModel(m));
    const source: DataSource = { async *[Symbol.asyncIterator]() { for (const x of data) yield { x: { type: 'float32' as const, data: x, dims: [1, N] } }; } };
    const { collectors, registry } = loadCollectors(['minmax'], { configDir: dir, cwd: dir });
    const res = await calibrate({ model: file, data: { data: source, batchSize: 1 }, collectors, registry, tensors: 'all', session: { collectWorkers: 0 } });
    return Object.fromEntries(Object.entries(res.results[0]!.table.tensors).map(([t, e]) => [t, [e.min, e.max]]));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('derived ranges equal the min/max of the tensors onnxruntime computes, bit for bit (opset 13)', async () => {
  const data = batches(6);
  const table = await calibratedMinMax(model13(), data);
  const ref = await fullMinMax(model13(), RANGE13, data, (x) => ({ x: new ort.Tensor('float32', x, [1, N]) }));
  // ±0 told apart by toEqual: z = x·0 holds both, and which one a reduction returns is arbitrary.
  const z = (r: number[] | undefined) => r?.map((v) => v + 0);
  for (const t of RANGE13) expect({ t, range: z(table[t]) }).toEqual({ t, range: z(ref[t]) });
});

test('derived ranges with Clip attribute bounds (opset 9)', async () => {
  const data = batches(4);
  const table = await calibratedMinMax(model9(), data);
  const ref = await fullMinMax(model9(), ['x', 'y', 'y2', 'q'], data, (x) => ({ x: new ort.Tensor('float32', x, [1, N]) }));
  for (const t of ['x', 'y', 'y2', 'q']) expect({ t, range: table[t] }).toEqual({ t, range: ref[t] });
});

test('apply: the derived values equal the ones onnxruntime computes, bit for bit (fast mode derives samples with it)', async () => {
  for (const [m, names] of [[model13(), RANGE13], [model9(), ['x', 'y', 'y2', 'q']]] as const) {
    const d = derivableRanges(m.graph!, names);
    const inst = instrumentModel(m, { full: [...names], range: [] });
    const session = await ort.InferenceSession.create(encodeModel(inst.model));
    try {
      for (const x of batches(3)) {
        const out = await session.run({ x: new ort.Tensor('float32', x, [1, N]) }, inst.fetches as string[]);
        for (const [t, r] of d) {
          const got = r.apply(out[r.source]!.data as Float32Array);
          const want = out[t]!.data as Float32Array;
          // Transpose permutes the values; every other op maps them in place. Bits compared (NaN, ±0).
          const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
          const order = (a: number[]) => (r.opType === 'Transpose' ? [...a].sort((p, q) => p - q) : a);
          expect({ t, v: order(bits(got)) }).toEqual({ t, v: order(bits(want)) });
        }
      }
    } finally {
      await session.release();
    }
  }
});

test('property: every value between the source extremes maps inside the derived range, the extremes onto its ends', () => {
  // Float32 elementwise ops on any finite values lo <= x <= hi: fl(x ∘ c) lies in map(lo, hi) and
  // the ends are reached (at lo or hi) — the monotonicity the derivation rests on.
  const f = Math.fround;
  const finite = fc.float({ noNaN: true, noDefaultInfinity: true, min: f(-1e30), max: f(1e30) });
  const nonzero = finite.filter((c) => c !== 0 && Math.abs(c) > 1e-30);
  const ops: [string, (x: number, c: number) => number][] = [
    ['Add', (x, c) => f(x + c)], ['Mul', (x, c) => f(x * c)], ['SubTensorConst', (x, c) => f(x - c)], ['SubConstTensor', (x, c) => f(c - x)], ['Div', (x, c) => f(x / c)],
  ];
  fc.assert(fc.property(finite, finite, nonzero, fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 8 }), (a, b, c, ts) => {
    const [lo, hi] = a <= b ? [a, b] : [b, a];
    for (const [name, op] of ops) {
      const g = {
        name: 'g',
        node: [name === 'SubConstTensor' ? { opType: 'Sub', input: ['c', 'x'], output: ['t'], name: 'n', attribute: [] } : { opType: name.startsWith('Sub') ? 'Sub' : name, input: ['x', 'c'], output: ['t'], name: 'n', attribute: [] }],
        initializer: [makeFloatTensor('c', [], [c])],
        input: [vi('x')], output: [vi('t')], valueInfo: [],
      };
      const d = derivableRanges(g as never, ['x', 't']).get('t')!;
      const [mn, mx] = d.map(lo, hi);
      const ends = [op(lo, c), op(hi, c)];
      if ([mn, mx, ...ends].some((v) => !Number.isFinite(v))) continue; // overflow: flagged non-finite at run time
      expect([mn, mx]).toEqual([Math.min(...ends), Math.max(...ends)]);
      for (const t of ts) {
        const x = f(lo + (hi - lo) * t);
        if (x < lo || x > hi) continue;
        const y = op(x, c);
        expect(y >= mn && y <= mx).toBe(true);
      }
    }
  }), { seed: 19, numRuns: 300 });
});

/**
 * Opset 13, x [1, 2, 3, 5]: nearest Resize by integer scales (every input value repeated: derived)
 * and ones that make other values or may skip some (not derived); Concat of range tensors
 * (the union of their ranges) and with a constant part (not derived).
 */
function resizeModel(): OnnxModel {
  const str = (name: string, v: string) => ({ name, type: AttributeType.STRING, s: Buffer.from(v) });
  const resize = (out: string, scales: string, attrs: OnnxNode['attribute'] = []) => node('Resize', ['x', '', scales], out, attrs);
  const sc = (name: string, v: number[]) => makeFloatTensor(name, [4], v);
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'g',
      node: [
        resize('r1', 's133', [str('coordinate_transformation_mode', 'asymmetric'), str('nearest_mode', 'floor')]),
        resize('r2', 's122'), // defaults: half_pixel, round_prefer_floor
        resize('r3', 's124', [str('coordinate_transformation_mode', 'pytorch_half_pixel'), str('nearest_mode', 'ceil')]),
        resize('r3b', 's122', [str('coordinate_transformation_mode', 'half_pixel'), str('nearest_mode', 'round_prefer_ceil')]),
        resize('r4', 's133'), // half_pixel by 3: not a power of two
        resize('r5', 's122', [str('mode', 'linear')]), // interpolates: other values
        resize('r6', 'shalf', [str('coordinate_transformation_mode', 'asymmetric')]), // downsampling skips values
        resize('r7', 's122', [str('coordinate_transformation_mode', 'align_corners')]),
        node('Add', ['x', 'three'], 'a'),
        node('Concat', ['x', 'a', 'x'], 'c1', [{ name: 'axis', type: AttributeType.INT, i: 1 }]),
        node('Concat', ['x', 'k'], 'c2', [{ name: 'axis', type: AttributeType.INT, i: 1 }]), // a constant part
        node('Concat', ['r1', 'r4'], 'c3', [{ name: 'axis', type: AttributeType.INT, i: 1 }]), // derived from a derived and a reduced one
      ],
      initializer: [
        sc('s133', [1, 1, 3, 3]), sc('s122', [1, 1, 2, 2]), sc('s124', [1, 1, 2, 4]), sc('shalf', [1, 1, 0.5, 0.5]),
        makeFloatTensor('three', [], [3.1]), makeFloatTensor('k', [1, 2, 3, 5], Array.from({ length: 30 }, (_, i) => 100 + i)),
      ],
      input: [vi('x', [1, 2, 3, 5])],
      output: ['r2', 'r3', 'r3b', 'r5', 'r6', 'r7', 'c1', 'c2', 'c3'].map((n) => vi(n)),
      valueInfo: [],
    },
  } as OnnxModel;
}
const RESIZE_RANGE = ['x', 'r1', 'r2', 'r3', 'r3b', 'r4', 'r5', 'r6', 'r7', 'a', 'c1', 'c2', 'c3'];

test('nearest Resize by integer scales and Concat of range tensors are derived; other resizes and constant parts are not', () => {
  const d = derivableRanges(resizeModel().graph!, RESIZE_RANGE);
  expect(Object.fromEntries([...d].map(([t, r]) => [t, r.sources ?? r.source]))).toEqual({ r1: 'x', r2: 'x', r3: 'x', r3b: 'x', a: 'x', c1: ['x', 'a', 'x'], c3: ['r1', 'r4'] });
  // Neither has a per-value map (fast mode does not derive samples through them).
  expect(d.get('r1')!.apply).toBeUndefined();
  expect(d.get('c1')!.apply).toBeUndefined();
  // A Concat input outside the range set: not derived.
  expect(derivableRanges(resizeModel().graph!, ['x', 'c1']).has('c1')).toBe(false);
});

test('Resize and Concat ranges equal the min/max of the tensors onnxruntime computes, NaN and ±Infinity counted alike', async () => {
  const m = resizeModel();
  const dims = [1, 2, 3, 5];
  let s = 7;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const data = Array.from({ length: 5 }, () => Float32Array.from({ length: 30 }, () => (r() < 0.5 ? -1 : 1) * 2 ** (r() * 30 - 15)));
  // A NaN that is not the first value (ReduceMin/Max skip it) and an infinity, in batches of their own.
  data[2]![7] = NaN;
  data[3]![11] = -Infinity;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qcal-derived-'));
  try {
    const file = path.join(dir, 'm.onnx');
    fs.writeFileSync(file, encodeModel(m));
    const source: DataSource = { async *[Symbol.asyncIterator]() { for (const x of data) yield { x: { type: 'float32' as const, data: x, dims } }; } };
    const { collectors, registry } = loadCollectors(['minmax'], { configDir: dir, cwd: dir });
    const res = await calibrate({ model: file, data: { data: source, batchSize: 1 }, collectors, registry, tensors: 'all', session: { collectWorkers: 0, inferenceWorkers: 0 } });
    const table = res.results[0]!.table.tensors;
    // Reference: every tensor fetched in full, finite values' extremes and non-finite counts.
    const inst = instrumentModel(m, { full: RESIZE_RANGE, range: [] });
    const session = await ort.InferenceSession.create(encodeModel(inst.model));
    const ref: Record<string, { min: number; max: number; nan: number; inf: number }> = {};
    for (const x of data) {
      const out = await session.run({ x: new ort.Tensor('float32', x, dims) }, inst.fetches as string[]);
      for (const t of RESIZE_RANGE) {
        const e = (ref[t] ??= { min: Infinity, max: -Infinity, nan: 0, inf: 0 });
        for (const v of out[t]!.data as Float32Array) {
          if (Number.isNaN(v)) e.nan++;
          else if (!Number.isFinite(v)) e.inf++;
          else { e.min = Math.min(e.min, v); e.max = Math.max(e.max, v); }
        }
      }
    }
    await session.release();
    for (const t of RESIZE_RANGE) {
      const e = table[t]!;
      expect({ t, min: e.min, max: e.max, nan: e.nanCount ?? 0, inf: e.infCount ?? 0 }).toEqual({ t, ...ref[t]! });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
