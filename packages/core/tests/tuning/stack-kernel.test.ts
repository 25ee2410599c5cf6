/** @jest-environment ./packages/core/tests/tuning/ort-environment.js */
import fc from 'fast-check';
import { fakeQuantActivation } from '../../src/tuning';
import { createStackKernel, jsStackKernel, type StackKernel } from '../../src/tuning/stack-kernel';
import { rng } from './models';

const wasm = createStackKernel();
const js = jsStackKernel();

function values(n: number, seed: number, scale = 5): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale);
}

/** Σ(ref − out_j)² per candidate, in value order. */
function sqDirect(ref: Float32Array, out: Float32Array, k: number): number[] {
  const m = ref.length;
  return Array.from({ length: k }, (_, j) => {
    let s = 0;
    for (let i = 0; i < m; i++) s += (ref[i]! - out[j * m + i]!) ** 2;
    return s;
  });
}

describe.each([['WebAssembly', wasm], ['JavaScript', js]] as [string, StackKernel][])('stack kernel (%s)', (_, kernel) => {
  const thresholds = [0.3, 1, 2.5, 4.99, 127]; // 127: scale 1, so x = ±2.5 is an exact tie
  const scales = Float32Array.from(thresholds, (T) => Math.fround(127 / T));

  it('stacks the candidates fake-quantized bit for bit as fakeQuantActivation does', () => {
    const n = 4099; // whole vectors, more than one block of 1024, and a scalar tail
    const src = values(n, 3);
    src[7] = 2.5;
    src[8] = -3.5;
    const [x, stacked] = kernel.arrays([n, n * thresholds.length], thresholds.length);
    x!.set(src);
    kernel.quantize(x!, scales, stacked!);
    thresholds.forEach((T, j) => expect(Array.from(stacked!.subarray(j * n, (j + 1) * n))).toEqual(Array.from(fakeQuantActivation(src, T))));
  });

  it('sums the squared differences of every candidate\'s output to the reference', () => {
    const m = 2051;
    const k = 3;
    const [ref, out] = kernel.arrays([m, k * m], k);
    ref!.set(values(m, 5));
    out!.set(values(k * m, 6));
    const sums = new Float64Array(k).fill(1); // adds to what is there
    kernel.squaredErrors(ref!, out!, sums);
    sqDirect(ref!, out!, k).forEach((want, j) => expect(Math.abs(sums[j]! - 1 - want)).toBeLessThanOrEqual(1e-12 * want));
  });

  it('gives the closed form of a copy: Σ w·(x − fq(x))²', () => {
    const n = 1031;
    const src = values(n, 9);
    const weights = Float32Array.from({ length: n }, (_, i) => i % 5);
    const [x, w] = kernel.arrays([n, n], thresholds.length);
    x!.set(src);
    w!.set(weights);
    const sums = new Float64Array(thresholds.length);
    kernel.copyErrors(x!, w!, scales, sums);
    thresholds.forEach((T, j) => {
      const q = fakeQuantActivation(src, T);
      let want = 0;
      for (let i = 0; i < n; i++) want += weights[i]! * (src[i]! - q[i]!) ** 2;
      expect(Math.abs(sums[j]! - want)).toBeLessThanOrEqual(1e-12 * want);
    });
  });

  it('clips ±Infinity to the int8 range and lets NaN through', () => {
    const [x, stacked] = kernel.arrays([3, 3], 1);
    x!.set([Infinity, -Infinity, NaN]);
    kernel.quantize(x!, Float32Array.of(1), stacked!);
    expect(stacked![0]).toBe(127);
    expect(stacked![1]).toBe(-128);
    expect(Number.isNaN(stacked![2]!)).toBe(true);
  });

  it('rejects arrays of the wrong size', () => {
    const [ref, out] = kernel.arrays([4, 7], 2);
    expect(() => kernel.squaredErrors(ref!, out!, new Float64Array(2))).toThrow(/7 outputs for 2 × 4/);
  });
});

describe('stack kernel in WebAssembly', () => {
  it('is built (npm run build:wasm -w @qcal/core)', () => {
    expect(wasm.wasm).toBe(true);
  });

  it('fake-quantizes any float32 as the JavaScript twin does, bit for bit', () => {
    fc.assert(fc.property(fc.float(), fc.float({ min: Math.fround(0.001), max: 1000, noNaN: true }), (v, T) => {
      const s = Float32Array.of(Math.fround(127 / T));
      const [a, b] = wasm.arrays([1, 1], 1);
      a![0] = v;
      wasm.quantize(a!, s, b!);
      const want = fakeQuantActivation(Float32Array.of(v), T)[0]!;
      return Object.is(b![0], want) || (Number.isNaN(want) && Number.isNaN(b![0]!)) || (b![0] === 0 && want === 0);
    }), { numRuns: 2000 });
  });

  it('refuses arrays that are not its own', () => {
    wasm.arrays([4], 1);
    expect(() => wasm.quantize(new Float32Array(4), Float32Array.of(1), new Float32Array(4))).toThrow(/not from arrays/);
  });
});
