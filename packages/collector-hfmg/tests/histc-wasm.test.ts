import fc from 'fast-check';
import { setWasmKernels, type HistogramKernels } from '@qcal/kernels';
import { hfmgCollector } from '@qcal/collector-hfmg';
import { silentLogger } from '@qcal/plugin-kit';
import { finiteRangeJs, histcRun } from '../src/histc';
import { builtKernels } from '../../../test-support/wasm-kernels';

// The WebAssembly kernels (@qcal/kernels, built by `npm run build`) against the JavaScript
// kernels they replace, which stay the reference: same bins, same stop index, same extremes.

const f32 = Math.fround;
let k: HistogramKernels;
beforeAll(() => { k = builtKernels(); });

/** The first index where two count arrays differ, -1 when they agree (faster than toEqual on 8192 bins). */
function firstDiff(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

/** Both kernels on the same input: counts and stop index must agree. */
function both(data: Float32Array, lo: number, hi: number, nbins: number, from = 0, to = data.length) {
  const range = f32(hi - lo);
  const js = new Float64Array(nbins);
  const wasm = new Float64Array(nbins);
  const stopJs = histcRun(js, data, from, to, lo, hi, range, 1);
  const stopWasm = k.histc(wasm, data, from, to, lo, hi, range);
  return { js, wasm, stopJs, stopWasm };
}

describe('histc kernel (WebAssembly) vs histcRun (JavaScript)', () => {
  it('hand-worked bins on [0, 4] with 4 bins: edges go up, hi goes to the last bin', () => {
    // bin = trunc(f32(f32(x − 0)·4) / 4): 0→0, 0.999→0, 1→1, 2.5→2, 3.999→3, 4→4 clamped to 3.
    const data = Float32Array.from([0, 0.999, 1, 2.5, 3.999, 4, 1, 1, 2]);
    const r = both(data, 0, 4, 4);
    expect(Array.from(r.wasm)).toEqual([2, 3, 2, 2]);
    expect(r.wasm).toEqual(r.js);
    expect(r.stopWasm).toBe(data.length);
  });

  it('a float32 rounding at a bin edge: torch\'s bin, not the real quotient\'s', () => {
    // Over [0.1f, 0.7f] with 8 bins, x = 0.17499999701976776 (a float32) has the real quotient
    // (x − lo)·8/(hi − lo) = 0.99999… (bin 0), but torch's float32 roundings give exactly 1 (bin 1).
    const lo = f32(0.1);
    const hi = f32(0.7);
    const x = 0.17499999701976776;
    expect(f32(x)).toBe(x);
    expect(Math.trunc(((x - lo) * 8) / (hi - lo))).toBe(0);
    const data = Float32Array.from([x, x, x, x, x, lo, hi]);
    const r = both(data, lo, hi, 8);
    expect(Array.from(r.wasm)).toEqual([1, 5, 0, 0, 0, 0, 0, 1]);
    expect(r.js).toEqual(r.wasm);
  });

  it('stops at the first NaN, ±Infinity or out-of-range value, in the vector part and in the tail', () => {
    for (const bad of [NaN, Infinity, -Infinity, 5, -1]) {
      for (const at of [0, 3, 4, 7, 17, 18]) {
        const data = new Float32Array(19).map((_, i) => (i % 4) + 0.5);
        data[at] = bad;
        const r = both(data, 0, 4, 1024);
        expect(r.stopWasm).toBe(at);
        expect(r.stopJs).toBe(at);
        expect(firstDiff(r.wasm, r.js)).toBe(-1);
      }
    }
  });

  it('from/to sub-ranges, subnormal and tiny ranges, a range at the overflow limit', () => {
    const tiny = new Float32Array(37).map((_, i) => i * 1e-45); // subnormals 0 .. 36·2^-149
    let r = both(tiny, 0, f32(36e-45), 2048, 3, 30);
    expect(r.stopWasm).toBe(30);
    expect(r.wasm).toEqual(r.js);
    const big = Float32Array.from([-(2 ** 99), 0, 2 ** 99, 1e29, -3e29]);
    r = both(big, -(2 ** 99), 2 ** 99, 4096);
    expect(r.wasm).toEqual(r.js);
    expect(r.stopWasm).toBe(r.stopJs);
  });

  it('delta −1 (the collector taking optimistic counts back) removes what delta 1 added, as the reference', () => {
    const data = new Float32Array(3001).map((_, i) => Math.sin(i) * 3);
    const lo = -3;
    const hi = 3;
    const range = f32(hi - lo);
    const js = new Float64Array(4096);
    const wasm = new Float64Array(4096);
    histcRun(js, data, 0, data.length, lo, hi, range, 1);
    k.histc(wasm, data, 0, data.length, lo, hi, range, 1);
    const before = Float64Array.from(wasm);
    histcRun(js, data, 0, 1777, lo, hi, range, -1);
    expect(k.histc(wasm, data, 0, 1777, lo, hi, range, -1)).toBe(1777);
    expect(firstDiff(wasm, js)).toBe(-1);
    k.histc(wasm, data, 1777, data.length, lo, hi, range, -1);
    expect(wasm.every((c) => c === 0)).toBe(true);
    expect(before.reduce((a, b) => a + b, 0)).toBe(3001);
  });

  it('property: any float32 data and any float32 range give the reference\'s counts and stop', () => {
    fc.assert(fc.property(
      fc.float32Array({ minLength: 0, maxLength: 300 }),
      fc.float({ noNaN: true, min: f32(-1e30), max: f32(1e30) }), fc.float({ noNaN: true, min: f32(-1e30), max: f32(1e30) }),
      fc.constantFrom(1024, 2048, 4096, 8192), fc.nat(300),
      (data, a, b, nbins, from) => {
        const lo = Math.min(a, b);
        const hi = Math.max(a, b);
        if (!(f32(hi - lo) > 0)) return;
        const r = both(data, lo, hi, nbins, Math.min(from, data.length));
        expect(r.stopWasm).toBe(r.stopJs);
        expect(firstDiff(r.wasm, r.js)).toBe(-1);
      }), { numRuns: 150 });
  });

  it('property: data inside its own range (as the collector bins), all values binned identically', () => {
    fc.assert(fc.property(
      fc.float32Array({ minLength: 1, maxLength: 2000, noDefaultInfinity: true, noNaN: true }), fc.constantFrom(1024, 4096),
      (raw, nbins) => {
        const data = raw.map((x) => (Math.abs(x) < 2 ** 100 ? x : 1));
        let lo = Infinity;
        let hi = -Infinity;
        for (const v of data) { if (v < lo) lo = v; if (v > hi) hi = v; }
        if (!(f32(hi - lo) > 0)) return;
        const r = both(data, lo, hi, nbins);
        expect(r.stopWasm).toBe(data.length);
        expect(firstDiff(r.wasm, r.js)).toBe(-1);
      }), { numRuns: 150 });
  });
});

describe('finiteRange kernel (WebAssembly) vs finiteRangeJs', () => {
  const same = (data: Float32Array) => {
    const w = k.finiteRange(data);
    const j = finiteRangeJs(data);
    expect(Object.is(w.min, j.min) && Object.is(w.max, j.max)).toBe(true);
    expect([w.nan, w.inf]).toEqual([j.nan, j.inf]);
  };

  it('NaN, ±Infinity and |x| >= 2^100 are counted and left out; the sign of a zero extreme is the first zero\'s', () => {
    same(Float32Array.from([1, NaN, -Infinity, 2 ** 100, -(2 ** 100), 3, 2 ** 99, Infinity, -2]));
    same(Float32Array.from([5, -0, 3, 0, 0, 7, 1, 2, 9])); // min −0 (first zero)
    same(Float32Array.from([5, 0, 3, -0, 0, 7, 1, 2, 9])); // min +0
    same(Float32Array.from([-5, -3, -1, -2, 0, -0, -7, -1, -9])); // max +0
    same(Float32Array.from([-0, 0, -0, 0, -0, 0])); // all zeros: both extremes the first
    same(Float32Array.from([NaN, NaN, NaN, NaN, Infinity])); // nothing finite: min > max
    same(Float32Array.from([1e-45, -1e-45, 1.1754942e-38, 3])); // subnormals
    same(new Float32Array(0));
  });

  it('property: any float32 data', () => {
    fc.assert(fc.property(fc.float32Array({ maxLength: 100 }), fc.nat(9), (data, z) => {
      if (data.length > z) data[z] = z % 2 ? -0 : 0;
      same(data);
    }), { numRuns: 500 });
  });
});

describe('hfmg collector: WebAssembly and JavaScript kernels', () => {
  afterAll(() => setWasmKernels(true));

  it('give the same snapshot over batches that grow the range, hold NaN/±Infinity and stay inside', () => {
    const rnd = fc.sample(fc.float32Array({ minLength: 3000, maxLength: 3000, noNaN: true, noDefaultInfinity: true, min: -50, max: 50 }), { numRuns: 6, seed: 19 });
    rnd[2]![100] = NaN;
    rnd[3]![2999] = Infinity;
    rnd[4] = rnd[4]!.map((x) => x * 0.01); // inside the running range: the one-pass path
    const run = (wasm: boolean) => {
      setWasmKernels(wasm);
      const c = hfmgCollector.create({ ...hfmgCollector.defaultOptions }, { tensors: [], logger: silentLogger });
      rnd.forEach((d, i) => c.collect('t', 'op', { data: d.map((x) => x * (1 + i)), dims: [d.length] }));
      return JSON.stringify(c.snapshot!());
    };
    expect(run(true)).toBe(run(false));
  });
});
