import fc from 'fast-check';
import { setWasmKernels, type HistogramKernels } from '@qcal/kernels';
import { finiteMinMax, finiteMinMaxJs, minmaxCollector } from '@qcal/collector-minmax';
import { silentLogger } from '@qcal/plugin-kit';
import { builtKernels } from '../../../test-support/wasm-kernels';

// finiteMinMax in WebAssembly (@qcal/kernels finiteRange with limit +Infinity) against the
// JavaScript reference it replaces: the same min, max (zero signs included), NaN and ±Infinity counts.

let k: HistogramKernels;
beforeAll(() => { k = builtKernels(); });

const F32_MAX = 3.4028234663852886e38;
const SUB = 1.401298464324817e-45; // smallest float32 subnormal

describe('finiteRange(data, Infinity) (WebAssembly) vs finiteMinMaxJs', () => {
  it('hand-worked: NaN and ±Infinity counted and left out; 2^100 and the largest float32 are finite values here', () => {
    const data = Float32Array.from([1, NaN, -Infinity, 2 ** 100, -F32_MAX, Infinity, NaN, 0.5]);
    expect(k.finiteRange(data, Infinity)).toEqual({ min: -F32_MAX, max: 2 ** 100, nan: 2, inf: 2 });
    expect(finiteMinMaxJs(data)).toEqual({ min: -F32_MAX, max: 2 ** 100, nan: 2, inf: 2 });
    // the collectors' default limit 2^100 would count 2^100 and -F32_MAX as infinite instead
    expect(k.finiteRange(data)).toEqual({ min: 0.5, max: 1, nan: 2, inf: 4 });
  });

  it('nothing finite: min +Infinity, max -Infinity, as the reference', () => {
    for (const n of [0, 1, 5, 300]) {
      const data = new Float32Array(n).map((_, i) => [NaN, Infinity, -Infinity][i % 3]!);
      expect(k.finiteRange(data, Infinity)).toEqual(finiteMinMaxJs(data));
      expect(finiteMinMax(data)).toEqual(finiteMinMaxJs(data));
    }
  });

  it('a zero extreme has the sign of the first zero, in the vector part, in the tail and across 16384-value chunks', () => {
    for (const n of [3, 4, 7, 19, 300, 16384 + 7]) {
      for (const first of [0, -0]) {
        for (const at of [0, 1, 3, n - 1].filter((a) => a < n)) {
          // all values >= 0 (min is a zero) or all <= 0 (max is a zero); the first zero at `at`, the other sign later
          for (const sign of [1, -1]) {
            const data = new Float32Array(n).map((_, i) => sign * (1 + (i % 5)));
            data[at] = first;
            if (at + 2 < n) data[at + 2] = first === 0 ? -0 : 0;
            if (n > 16384 + 2) data[16384 + 2] = first === 0 ? -0 : 0; // a zero of the other sign in the second chunk
            const w = k.finiteRange(data, Infinity);
            const j = finiteMinMaxJs(data);
            expect(w).toEqual(j);
            const firstZero = data.find((v) => v === 0)!; // the zero the sequential scan keeps
            expect(Object.is(sign > 0 ? w.min : w.max, firstZero)).toBe(true);
          }
        }
      }
    }
  });

  it('subnormals and the extremes of float32, at every position of a vector and the tail', () => {
    const specials = [SUB, -SUB, 1.1754942106924411e-38, -1.1754942106924411e-38, F32_MAX, -F32_MAX, 0, -0, NaN, Infinity, -Infinity];
    for (const n of [1, 4, 5, 8, 11, 16, 19]) {
      for (const s of specials) {
        for (let at = 0; at < n; at++) {
          const data = new Float32Array(n).fill(SUB * 3);
          data[at] = s;
          expect(k.finiteRange(data, Infinity)).toEqual(finiteMinMaxJs(data));
        }
      }
    }
  });

  it('property: any float32 array (NaN, ±Infinity, ±0 included), any length', () => {
    fc.assert(fc.property(fc.float32Array({ maxLength: 600 }), (data) => {
      expect(k.finiteRange(data, Infinity)).toEqual(finiteMinMaxJs(data));
      expect(finiteMinMax(data)).toEqual(finiteMinMaxJs(data));
    }), { numRuns: 400 });
  });

  it('property: long arrays mixing every special value with ordinary ones', () => {
    const special = fc.constantFrom(NaN, Infinity, -Infinity, 0, -0, SUB, -SUB, F32_MAX, -F32_MAX, 2 ** 100);
    fc.assert(fc.property(fc.array(fc.oneof(special, fc.float({ min: -1e6, max: 1e6 })), { minLength: 256, maxLength: 1200 }), (xs) => {
      const data = Float32Array.from(xs);
      expect(finiteMinMax(data)).toEqual(finiteMinMaxJs(data));
    }), { numRuns: 150 });
  });
});

describe('the minmax collector with the WebAssembly and the JavaScript kernel', () => {
  afterEach(() => setWasmKernels(true));

  it('gives the same table', async () => {
    const batches = [0, 1, 2].map((b) => new Float32Array(5000).map((_, i) => Math.sin(i * 0.37 + b) * (b + 1) * (i % 97 === 0 ? 50 : 1)));
    batches[1]![17] = NaN;
    batches[2]![4999] = -Infinity;
    batches.push(new Float32Array(300)); // zeros only
    const tables = [];
    for (const wasm of [true, false]) {
      setWasmKernels(wasm);
      for (const options of [{}, { symmetric: true }, { meanMinMax: true }]) {
        const c = minmaxCollector.create({ ...minmaxCollector.defaultOptions, ...options }, { tensors: [], logger: silentLogger });
        for (const d of batches) { c.collect('t', 'Relu', { data: d, dims: [d.length] }); c.collect('z', 'Relu', { data: batches[3]!, dims: [300] }); }
        tables.push(await c.postCollect({ tensors: [], logger: silentLogger }));
      }
    }
    expect(tables.slice(0, 3)).toEqual(tables.slice(3));
    expect(tables[0]!.t).toMatchObject({ nanCount: 1, infCount: 1 });
  });
});
