import fc from 'fast-check';
import { finiteAbsMax, finiteAbsMaxJs } from '../src';
import { builtKernels } from '../../../test-support/wasm-kernels';

// autotune's per-value absmax scan in WebAssembly (@qcal/kernels finiteRange with limit +Infinity)
// against the JavaScript loop it replaces: the same largest finite |x|, continuing a running value.

beforeAll(() => { builtKernels(); });

const F32_MAX = 3.4028234663852886e38;
const SUB = 1.401298464324817e-45;

/** Long enough (>= 256) for the WebAssembly path: `v` at `at`, `fill` elsewhere. */
function withValue(fill: number, v: number, at: number, n = 300): Float32Array {
  const d = new Float32Array(n).fill(fill);
  d[at] = v;
  return d;
}

describe('finiteAbsMax (WebAssembly) vs finiteAbsMaxJs', () => {
  it('hand-worked: NaN and ±Infinity left out; a negative value can hold the absmax; the running value is kept when larger', () => {
    const d = withValue(0.25, -3, 7);
    d[8] = NaN;
    d[9] = Infinity;
    d[10] = -Infinity;
    d[299] = 2;
    expect(finiteAbsMax(d, 0)).toBe(3);
    expect(finiteAbsMax(d, 5)).toBe(5);
    expect(finiteAbsMaxJs(d, 0)).toBe(3);
  });

  it('the largest float32, 2^100, subnormals, zeros of both signs, nothing finite', () => {
    for (const v of [F32_MAX, -F32_MAX, 2 ** 100, -(2 ** 100), SUB, -SUB, 0, -0, NaN, Infinity, -Infinity]) {
      for (const fill of [0, -0, NaN, Infinity, SUB]) {
        for (const at of [0, 3, 4, 255, 299]) {
          for (const m of [0, SUB, 1]) {
            const d = withValue(fill, v, at);
            expect(Object.is(finiteAbsMax(d, m), finiteAbsMaxJs(d, m))).toBe(true);
          }
        }
      }
    }
  });

  it('property: any float32 array, any running value', () => {
    fc.assert(fc.property(fc.float32Array({ minLength: 256, maxLength: 700 }), fc.float({ min: 0, max: 1e6, noNaN: true }), (data, m) => {
      expect(Object.is(finiteAbsMax(data, m), finiteAbsMaxJs(data, m))).toBe(true);
    }), { numRuns: 300 });
  });
});
