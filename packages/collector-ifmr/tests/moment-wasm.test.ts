import fc from 'fast-check';
import { setWasmKernels, type HistogramKernels } from '@qcal/kernels';
import { silentLogger } from '@qcal/plugin-kit';
import { ifmrCollector } from '@qcal/collector-ifmr';
import { addToMomentHistogram, createMomentHistogram, type MomentHistogram } from '../src/moment-histogram';
import { builtKernels } from '../../../test-support/wasm-kernels';

// The WebAssembly moment kernel (@qcal/kernels, built by `npm run build`) against the JavaScript
// binRun it replaces, which stays the reference: same counts, same float64 sums bit for bit.

let k: HistogramKernels;
beforeAll(() => { k = builtKernels(); });
afterAll(() => setWasmKernels(true));

describe('moment kernel (WebAssembly), hand-worked', () => {
  it('lattice of width 1 from 0: counts, value sums, sum of squares, min/max; stops at the first value outside', () => {
    const count = new Float64Array(8);
    const sum = new Float64Array(8);
    const data = Float32Array.from([0.5, 1.5, 1.25, 7.5, 3, 0.25, 0, 6.75, 2, 8, 1]);
    const tally = { ss: 10, lo: Infinity, hi: -Infinity };
    const stop = k.moment(count, sum, data, 0, 1, 0, 8, -1e30, tally);
    expect(stop).toBe(9); // 8 is outside [0, 8)
    expect(Array.from(count)).toEqual([3, 2, 1, 1, 0, 0, 1, 1]);
    expect(Array.from(sum)).toEqual([0.75, 2.75, 2, 3, 0, 0, 6.75, 7.5]);
    expect(tally).toEqual({ ss: 10 + 0.25 + 2.25 + 1.5625 + 56.25 + 9 + 0.0625 + 0 + 45.5625 + 4, lo: 0, hi: 7.5 });
    // from an index, with an origin and a lower cut (x must exceed `bottom`)
    const c2 = new Float64Array(8);
    const s2 = new Float64Array(8);
    const t2 = { ss: 0, lo: 1, hi: 1 };
    // x = v + 4: -3.5 → 0.5 (bin 0), -2 → 2, -0.5 → 3.5, then -4.5 → -0.5 stops; 99 is before `from`
    expect(k.moment(c2, s2, Float32Array.from([99, -3.5, -2, -0.5, -4.5]), 1, 1, -4, 8, 0.25, t2)).toBe(4);
    expect(Array.from(c2)).toEqual([1, 0, 1, 1, 0, 0, 0, 0]);
    expect(Array.from(s2)).toEqual([-3.5, 0, -2, -0.5, 0, 0, 0, 0]);
    // a value not above `bottom` stops too
    expect(k.moment(new Float64Array(8), new Float64Array(8), Float32Array.from([-3.5, -3.75]), 0, 1, -4, 8, 0.25, { ss: 0, lo: 0, hi: 0 })).toBe(1);
    expect(t2.lo).toBe(-3.5);
  });

  it('a zero min or max has the sequential reference\'s sign: the running value if a zero, else the first zero binned', () => {
    // `lo = v < lo ? v : lo` value by value keeps the first of equal values: for zeros, the sign of the first one
    const seq = (data: Float32Array, lo: number, hi: number) => {
      for (const v of data) { lo = v < lo ? v : lo; hi = v > hi ? v : hi; }
      return { lo, hi };
    };
    for (const n of [5, 8, 19]) {
      for (let at = 0; at < n; at++) {
        for (const first of [0, -0]) {
          for (const sign of [1, -1]) {
            const data = new Float32Array(n).map((_, i) => sign * ((i % 7) + 0.5));
            data[at] = first;
            if (at + 3 < n) data[at + 3] = first === 0 ? -0 : 0; // a later zero of the other sign, in another lane
            if (at >= 2) data[at - 2] = sign * 0.25;
            for (const run of sign > 0 ? [Infinity, 0, -0, 0.125] : [-Infinity, 0, -0, -0.125]) {
              const tally = sign > 0 ? { ss: 0, lo: run, hi: -Infinity } : { ss: 0, lo: Infinity, hi: run };
              // lattice of width 1 over [-8, 8): x = v + 8
              expect(k.moment(new Float64Array(16), new Float64Array(16), data, 0, 1, -8, 16, -1e30, tally)).toBe(n);
              const want = sign > 0 ? seq(data, run, -Infinity) : seq(data, Infinity, run);
              expect(Object.is(tally.lo, want.lo) && Object.is(tally.hi, want.hi)).toBe(true);
            }
          }
        }
      }
    }
  });

  it('stops at NaN, ±Infinity and outside values in the vector part and in the tail', () => {
    for (const bad of [NaN, Infinity, -Infinity, 9, -1]) {
      for (const at of [0, 3, 4, 6, 13]) {
        const data = new Float32Array(14).map((_, i) => (i % 8) + 0.5);
        data[at] = bad;
        const tally = { ss: 0, lo: Infinity, hi: -Infinity };
        expect(k.moment(new Float64Array(8), new Float64Array(8), data, 0, 1, 0, 8, -1e30, tally)).toBe(at);
      }
    }
  });
});

/** Every field of two histograms, bit for bit. */
function sameHistogram(a: MomentHistogram, b: MomentHistogram): void {
  for (const key of ['exp', 'origin', 'n', 'sumSq', 'min', 'max', 'nan', 'inf'] as const) {
    if (!Object.is(a[key], b[key])) throw new Error(`${key}: ${a[key]} vs ${b[key]}`);
  }
  for (let j = 0; j < a.bins; j++) {
    if (!Object.is(a.count[j], b.count[j]) || !Object.is(a.sum[j], b.sum[j])) throw new Error(`bin ${j}: ${a.count[j]}/${a.sum[j]} vs ${b.count[j]}/${b.sum[j]}`);
  }
}

function both(batches: Float32Array[], bins: number): void {
  const run = (wasm: boolean) => {
    setWasmKernels(wasm);
    const h = createMomentHistogram(bins);
    for (const d of batches) addToMomentHistogram(h, d);
    return h;
  };
  sameHistogram(run(true), run(false));
  setWasmKernels(true);
}

describe('addToMomentHistogram: WebAssembly and JavaScript kernels', () => {
  it('batches that grow the window, stay inside it, hold NaN/±Inf/overflowed values and zeros of both signs', () => {
    const [b0, b1, b2, b3] = fc.sample(fc.float32Array({ minLength: 3000, maxLength: 3000, noNaN: true, noDefaultInfinity: true, min: -8, max: 8 }), { numRuns: 4, seed: 7 });
    b1![10] = NaN;
    b1![2999] = Infinity;
    b2![0] = 2 ** 100;
    b2![1] = -0;
    b3![1500] = 0;
    both([b0!, b1!.map((x) => x * 0.5), b2!, b3!.map((x) => x * 4)], 256);
    both([b0!, b1!, b2!, b3!], 1024);
    // min 0 and max 0 reached only in the second 16384-value chunk, zeros of both signs there
    const pos = new Float32Array(20000).map((_, i) => 1 + (i % 13));
    pos[17000] = -0;
    pos[17004] = 0;
    const neg = pos.map((x) => -x);
    neg[18001] = 0;
    both([pos, neg, pos.map((x) => x * 0.5)], 256);
    both([neg.map((x) => (Object.is(x, -0) ? 0 : x))], 256);
  });

  it('property: any float32 batches (lattices from subnormal to 2^99 widths)', () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.float32Array({ minLength: 1200, maxLength: 1600 }), fc.float({ min: Math.fround(1e-40), max: Math.fround(1e29), noNaN: true })), { minLength: 1, maxLength: 3 }),
      (raw) => {
        const batches = raw.map(([d, s]) => d.map((x, i) => (i % 50 === 0 ? x : Number.isFinite(x) ? Math.fround((x % 1) * s) : x)));
        both(batches, 256);
      }), { numRuns: 40 });
  });
});

describe('ifmr collector: WebAssembly and JavaScript kernels', () => {
  it('give the same table (histogram mode) and snapshot', async () => {
    const batches = fc.sample(fc.float32Array({ minLength: 9000, maxLength: 9000, noNaN: true, noDefaultInfinity: true, min: -3, max: 6 }), { numRuns: 4, seed: 11 });
    batches[2]![4] = NaN;
    const run = async (wasm: boolean) => {
      setWasmKernels(wasm);
      const c = ifmrCollector.create({ ...ifmrCollector.defaultOptions }, { tensors: [], logger: silentLogger });
      batches.forEach((d, i) => c.collect('t', 'op', { data: d.map((x) => x * (i + 1)), dims: [d.length] }));
      const snap = JSON.stringify(c.snapshot!());
      return snap + JSON.stringify(await c.postCollect());
    };
    expect(await run(true)).toBe(await run(false));
  });
});
