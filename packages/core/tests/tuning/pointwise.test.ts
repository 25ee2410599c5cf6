/** @jest-environment ./packages/core/tests/tuning/ort-environment.js */
import fc from 'fast-check';
import { fakeQuantActivation } from '../../src/tuning';
import { broadcastTo, pointwiseSquaredErrors, type PointwiseKind, type TunedRole } from '../../src/tuning/pointwise';
import { createPointwiseKernel } from '../../src/tuning/pointwise-wasm';
import { pointwiseOpOf } from '../../src/tuning/pointwise-op';
import { indexGraph } from '../../src/onnx/graph-index';
import { constant, f32, makeModel, node, rng } from './models';

/** The op on float32 operands, each operation rounded to float32 (what onnxruntime computes). */
function op(kind: PointwiseKind, a: number, b: number, lo: number, hi: number): number {
  switch (kind) {
    case 'Add': return Math.fround(a + b);
    case 'Sub': return Math.fround(a - b);
    case 'Mul': return Math.fround(a * b);
    case 'Div': return Math.fround(a / b);
    case 'Relu': return Math.max(0, a);
    case 'Clip': return Math.min(Math.max(a, lo), hi);
  }
}

/** Σ(ref − op(fq(x), other))² per candidate, written out with the tested fakeQuantActivation. */
function direct(kind: PointwiseKind, role: TunedRole, x: Float32Array, other: Float32Array, ref: Float32Array, thresholds: number[], lo = -Infinity, hi = Infinity): number[] {
  return thresholds.map((T) => {
    const q = fakeQuantActivation(x, T);
    let sq = 0;
    for (let i = 0; i < x.length; i++) {
      const [a, b] = role === 'both' ? [q[i]!, q[i]!] : role === 'first' ? [q[i]!, other[i]!] : [other[i]!, q[i]!];
      const d = ref[i]! - op(kind, a, b, lo, hi);
      sq += d * d;
    }
    return sq;
  });
}

const KINDS: PointwiseKind[] = ['Add', 'Sub', 'Mul', 'Div', 'Relu', 'Clip'];
const ROLES: TunedRole[] = ['first', 'second', 'both'];

function data(n: number, seed: number): { x: Float32Array; other: Float32Array; ref: Float32Array } {
  const r = rng(seed);
  const x = Float32Array.from({ length: n }, () => (r() * 2 - 1) * 5);
  const other = Float32Array.from({ length: n }, () => 0.25 + r() * 2);
  const ref = Float32Array.from({ length: n }, (_, i) => x[i]! + other[i]! * 0.5);
  return { x, other, ref };
}

describe('pointwiseSquaredErrors (JavaScript)', () => {
  it('matches fake quantization, the op and the squared difference written out, for every op and role', () => {
    const { x, other, ref } = data(5000, 3); // more than one block of 4096
    const thresholds = [0.5, 1, 2.5, 4.99, 7];
    const scales = Float32Array.from(thresholds, (T) => Math.fround(127 / T));
    for (const kind of KINDS) {
      for (const role of kind === 'Relu' || kind === 'Clip' ? ['first' as const] : ROLES) {
        const sums = new Float64Array(thresholds.length);
        pointwiseSquaredErrors(kind, role, x, other, ref, scales, sums, 0, 6);
        const want = direct(kind, role, x, other, ref, thresholds, 0, 6);
        // The same operations in the same order: equal, not merely close.
        expect(Array.from(sums)).toEqual(want);
      }
    }
  });

  it('rounds exact ties half to even and clips to [-128, 127] before dividing', () => {
    // T = 127: scale 1, so q = round(x): 2.5 → 2, 3.5 → 4, -2.5 → -2, 200 → 127, -200 → -128.
    const x = Float32Array.of(2.5, 3.5, -2.5, 200, -200, Infinity, -Infinity);
    const ref = new Float32Array(x.length);
    const sums = new Float64Array(1);
    pointwiseSquaredErrors('Relu', 'first', x, undefined, ref, Float32Array.of(1), sums);
    // Relu of 2, 4, -2, 127, -128, 127, -128 against 0: 4 + 16 + 0 + 127² + 0 + 127² + 0.
    expect(sums[0]).toBe(4 + 16 + 2 * 127 * 127);
    const sub = new Float64Array(1);
    pointwiseSquaredErrors('Sub', 'first', x, new Float32Array(x.length), ref, Float32Array.of(1), sub);
    expect(sub[0]).toBe(4 + 16 + 4 + 2 * 127 * 127 + 2 * 128 * 128);
  });

  it('lets NaN through: a NaN input makes every candidate NaN', () => {
    const sums = new Float64Array(2);
    pointwiseSquaredErrors('Mul', 'first', Float32Array.of(1, NaN), Float32Array.of(1, 1), Float32Array.of(1, 1), Float32Array.of(10, 20), sums);
    expect(Number.isNaN(sums[0])).toBe(true);
    expect(Number.isNaN(sums[1])).toBe(true);
  });

  it('rejects operands of the wrong length', () => {
    expect(() => pointwiseSquaredErrors('Add', 'first', new Float32Array(3), new Float32Array(2), new Float32Array(3), Float32Array.of(1), new Float64Array(1))).toThrow(/3 tuned values and 2 other values for 3 outputs/);
  });
});

describe('pointwise WebAssembly kernel', () => {
  const kernel = createPointwiseKernel();

  it('is built (npm run build:wasm -w @qcal/core; npm test and npm run build do it)', () => {
    expect(kernel.wasm).toBe(true);
  });

  it('agrees with the JavaScript kernel up to the order of summation, for every op and role', () => {
    // 4099 values: whole f32x4 vectors, more than one block of 1024, and a scalar tail.
    const { x, other, ref } = data(4099, 11);
    const scales = Float32Array.from([0.3, 1, 2, 5.5], (T) => Math.fround(127 / T));
    for (const kind of KINDS) {
      for (const role of ROLES) {
        const a = new Float64Array(scales.length).fill(1); // adds to what is there
        const b = new Float64Array(scales.length).fill(1);
        kernel.squaredErrors(kind, role, x, other, ref, scales, a, -1, 2);
        pointwiseSquaredErrors(kind, role, x, other, ref, scales, b, -1, 2);
        for (let j = 0; j < scales.length; j++) {
          // Div by a value quantized to 0: NaN or Infinity on both sides.
          if (!Number.isFinite(b[j]!)) expect(Number.isNaN(b[j]!) ? Number.isNaN(a[j]!) : a[j] === b[j]).toBe(true);
          else expect(Math.abs(a[j]! - b[j]!)).toBeLessThanOrEqual(1e-12 * Math.abs(b[j]!));
        }
      }
    }
  });

  it('gives the same op outputs bit for bit (one value at a time, where no summation order enters)', () => {
    fc.assert(fc.property(
      fc.float({ noDefaultInfinity: false }), fc.float({ noNaN: true }), fc.float({ noNaN: true, noDefaultInfinity: true }),
      fc.float({ min: Math.fround(0.001), max: 1000, noNaN: true }), fc.constantFrom(...KINDS),
      (xv, ov, rv, T, kind) => {
        const x = Float32Array.of(xv);
        const o = Float32Array.of(ov);
        const r = Float32Array.of(rv);
        const s = Float32Array.of(Math.fround(127 / T));
        const a = new Float64Array(1);
        const b = new Float64Array(1);
        kernel.squaredErrors(kind, 'first', x, o, r, s, a, -2, 3);
        pointwiseSquaredErrors(kind, 'first', x, o, r, s, b, -2, 3);
        return Object.is(a[0], b[0]) || (Number.isNaN(a[0]!) && Number.isNaN(b[0]!));
      },
    ), { numRuns: 2000 });
  });
});

describe('broadcastTo', () => {
  it('lays a per-channel tensor out over NCHW, and keeps a same-shape tensor as is', () => {
    const c = Float32Array.of(1, 2);
    expect(Array.from(broadcastTo(c, [1, 2, 1, 1], [1, 2, 2, 3])!)).toEqual([1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2]);
    expect(Array.from(broadcastTo(Float32Array.of(7), [], [2, 2])!)).toEqual([7, 7, 7, 7]);
    expect(Array.from(broadcastTo(Float32Array.of(1, 2, 3), [3], [2, 3])!)).toEqual([1, 2, 3, 1, 2, 3]);
    const same = new Float32Array(6);
    expect(broadcastTo(same, [2, 3], [1, 2, 3])).toBe(same);
    expect(broadcastTo(Float32Array.of(1, 2), [2], [2, 3])).toBeUndefined();
  });
});

describe('pointwiseOpOf', () => {
  it('describes elementwise ops with stored constants, and leaves other ops to the probes', () => {
    const m = makeModel([
      constant('six', f32('six', [], [6])), constant('lo', f32('lo', [], [0])),
      node('Add', ['x', 'six'], ['a'], 'add'), node('Clip', ['a', 'lo', 'six'], ['c'], 'clip'),
      node('Mul', ['x', 'c'], ['m'], 'mul'), node('Sigmoid', ['m'], ['s'], 'sig'), node('Relu', ['s'], ['y'], 'relu'),
    ], ['x'], ['y']);
    const ix = indexGraph(m);
    const at = (n: string) => ix.nodeNames.indexOf(n);
    const add = pointwiseOpOf(m, ix, at('add'))!;
    expect(add.kind).toBe('Add');
    expect(add.inputs[0]).toEqual({ activation: 'x' });
    expect(Array.from((add.inputs[1] as { constant: Float32Array }).constant)).toEqual([6]);
    expect(pointwiseOpOf(m, ix, at('clip'))).toMatchObject({ kind: 'Clip', lo: 0, hi: 6, output: 'c' });
    expect(pointwiseOpOf(m, ix, at('mul'))!.inputs).toEqual([{ activation: 'x' }, { activation: 'c' }]);
    expect(pointwiseOpOf(m, ix, at('sig'))).toBeUndefined();
    expect(pointwiseOpOf(m, ix, at('relu'))).toMatchObject({ kind: 'Relu', output: 'y' });
  });

  it('reads opset-6 Clip bounds from attributes', () => {
    const m = makeModel([node('Clip', ['x'], ['y'], 'clip', [{ name: 'min', type: 1, f: -1 }, { name: 'max', type: 1, f: 0.1 }])], ['x'], ['y'], 9);
    const ix = indexGraph(m);
    expect(pointwiseOpOf(m, ix, 0)).toMatchObject({ kind: 'Clip', lo: -1, hi: Math.fround(0.1) });
  });
});
