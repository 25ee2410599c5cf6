import fc from 'fast-check';
import { setWasmKernels, type HistogramKernels } from '@qcal/kernels';
import { silentLogger } from '@qcal/plugin-kit';
import { entropyCollector, histcAbsInto, histcAbsIntoJs, torchLinspace0 } from '@qcal/collector-entropy';
import { builtKernels } from '../../../test-support/wasm-kernels';

// torch.histc of |x| (modelopt's histogram: entropy's tensorrt mode and the mse collector) in
// WebAssembly (@qcal/kernels histcAbs: torch's float32 formula itself) against the JavaScript
// kernel, which stays the reference: the same counts bit for bit.

const f32 = Math.fround;
let k: HistogramKernels;
beforeAll(() => { k = builtKernels(); });
afterAll(() => setWasmKernels(true));

function firstDiff(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

/** The float32 next to x towards +∞ (up) or −∞. */
function nextF32(x: number, up: boolean): number {
  const f = new Float32Array([x]);
  const u = new Int32Array(f.buffer);
  if (x === 0) return up ? 1e-45 : -1e-45;
  u[0] = u[0]! + ((x > 0) === up ? 1 : -1);
  return f[0]!;
}

/** Both kernels over [lo, hi] (float32, lo < hi): the module's directly, whatever the length. */
function both(data: Float32Array, lo: number, hi: number, n: number) {
  const js = new Float64Array(n);
  const wasm = new Float64Array(n);
  histcAbsIntoJs(js, data, lo, hi);
  const added = k.histcAbs(wasm, data, f32(lo), f32(hi), f32(f32(hi) - f32(lo)));
  return { js, wasm, added };
}

describe('histcAbs (WebAssembly) vs histcAbsIntoJs', () => {
  it('hand-worked: 4 bins of |x| over [0, 1]; hi goes to the last bin; NaN, ±Infinity and outside skipped', () => {
    const data = Float32Array.from([0, -0.25, 0.5, -1, 0.99, 2, NaN, -0, Infinity, -Infinity, -3]);
    const r = both(data, 0, 1, 4);
    expect(Array.from(r.wasm)).toEqual([2, 1, 1, 2]);
    expect(r.added).toBe(6);
    expect(firstDiff(r.wasm, r.js)).toBe(-1);
  });

  it('every float32 edge of torch.linspace grids (2048, 2047, 3001 bins) and its neighbours one ulp away, both signs', () => {
    for (const [n, top] of [[2048, 0.7], [2047, 3.3], [3001, 1e-3], [2048, 6.1e4]] as const) {
      const edges = torchLinspace0(top, n + 1);
      const vals: number[] = [];
      for (const e of edges) vals.push(e, nextF32(e, true), nextF32(e, false), -e, -nextF32(e, true));
      const r = both(Float32Array.from(vals), 0, edges[n]!, n);
      expect(firstDiff(r.wasm, r.js)).toBe(-1);
    }
  });

  it('ranges not starting at 0, subnormal and huge ranges', () => {
    const data = new Float32Array(4001).map((_, i) => Math.sin(i * 1.7) * (i % 3 === 0 ? 1e-40 : i % 3 === 1 ? 3 : 1e29));
    for (const [lo, hi, n] of [[0.5, 2.5, 100], [0, 2e-40, 64], [0, 1.2e30, 2048], [1e-41, 1e-40, 7]] as const) {
      const r = both(data, lo, hi, n);
      expect(firstDiff(r.wasm, r.js)).toBe(-1);
    }
  });

  it('histcAbsInto takes the module for long batches and widens a degenerate range as the reference', () => {
    const data = new Float32Array(6000).map((_, i) => (i % 5 === 0 ? 2 : Math.cos(i) * 2));
    for (const [lo, hi] of [[0, 2], [2, 2], [0, 1]] as const) {
      const a = new Float64Array(2048);
      const b = new Float64Array(2048);
      histcAbsInto(a, data, lo, hi);
      histcAbsIntoJs(b, data, lo, hi);
      expect(firstDiff(a, b)).toBe(-1);
    }
  });

  it('property: any float32 data, ranges [0, hi] and any bin count', () => {
    fc.assert(fc.property(
      fc.float32Array({ maxLength: 500 }), fc.integer({ min: 1, max: 5000 }), fc.float({ min: f32(1e-30), max: f32(1e30), noNaN: true }),
      (raw, n, hi) => {
        const data = raw.map((x, i) => (i % 5 === 0 || !Number.isFinite(x) ? x : x % (hi * 1.1)));
        const r = both(data, 0, hi, n);
        expect(firstDiff(r.wasm, r.js)).toBe(-1);
      }), { numRuns: 150 });
  });
});

describe('entropy on modelopt\'s |x| histogram (tensorrt mode): WebAssembly and JavaScript kernels', () => {
  const batches = fc.sample(fc.float32Array({ minLength: 7000, maxLength: 7000, noNaN: true, noDefaultInfinity: true, min: -4, max: 4 }), { numRuns: 4, seed: 23 });
  batches[1]![9] = NaN;
  batches[2] = batches[2]!.map((x) => x * 3); // grows the grid
  it('entropy (tensorrt mode) gives the same snapshot and table', async () => {
    const run = async (wasm: boolean) => {
      setWasmKernels(wasm);
      const c = entropyCollector.create({ ...entropyCollector.defaultOptions, mode: 'tensorrt' }, { tensors: [], logger: silentLogger });
      for (const d of batches) void c.collect('t', 'op', { data: d, dims: [d.length] });
      return JSON.stringify(c.snapshot!()) + JSON.stringify(await c.postCollect({ tensors: [], logger: silentLogger, threads: 1 }));
    };
    expect(await run(true)).toBe(await run(false));
  });
});
