import fc from 'fast-check';
import { setWasmKernels, type HistogramKernels } from '@qcal/kernels';
import { silentLogger } from '@qcal/plugin-kit';
import {
  entropyCollector, histogramIntoJs, histogramScanInto, histogramScanIntoJs, linspaceEdges32, scanFinite, scanFiniteJs,
} from '@qcal/collector-entropy';
import { builtKernels } from '../../../test-support/wasm-kernels';

// The WebAssembly kernels (@qcal/kernels, built by `npm run build`) against the JavaScript kernels
// they replace, which stay the reference: same bins, same stop index, same extremes and counts.

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

function fill(edges: Float32Array, data: Float32Array) {
  const n = edges.length - 1;
  const js = new Float64Array(n);
  const wasm = new Float64Array(n);
  const addedJs = histogramIntoJs(js, edges, data);
  const addedWasm = k.numpyFill(wasm, edges, data);
  return { js, wasm, addedJs, addedWasm };
}

describe('numpyFill (WebAssembly) vs histogramIntoJs', () => {
  it('hand-worked: 4 bins over [-1, 1], the last bin closed, outside/NaN/±Inf skipped', () => {
    const edges = linspaceEdges32(-1, 1, 4); // -1, -0.5, 0, 0.5, 1
    const data = Float32Array.from([-1, -0.75, -0.5, -0.25, 0, 0.25, 0.5, 0.99, 1, 1.5, -2, NaN, Infinity, -Infinity, -0]);
    const r = fill(edges, data);
    expect(Array.from(r.wasm)).toEqual([2, 2, 3, 3]); // −0 and 0 open bin 2; 1 closes bin 3
    expect(r.addedWasm).toBe(10);
    expect(firstDiff(r.wasm, r.js)).toBe(-1);
    expect(r.addedJs).toBe(r.addedWasm);
  });

  it('every float32 edge of an 8001-bin grid and its neighbours one ulp away go where NumPy puts them', () => {
    const edges = linspaceEdges32(-0.7, 0.7, 8001);
    const vals: number[] = [];
    for (const e of edges) vals.push(e, nextF32(e, true), nextF32(e, false));
    const r = fill(edges, Float32Array.from(vals));
    expect(firstDiff(r.wasm, r.js)).toBe(-1);
    expect(r.addedWasm).toBe(r.addedJs);
    // NumPy: an edge value opens its bin (the last edge closes the last bin)
    const one = fill(edges, Float32Array.from([edges[4000]!, edges[4000]!, edges[4000]!, edges[4000]!]));
    expect(one.wasm[4000]).toBe(4);
  });

  it('subnormal grids and a degenerate grid (all edges equal)', () => {
    const tiny = linspaceEdges32(-1e-40, 1e-40, 101);
    const data = new Float32Array(64).map((_, i) => (i - 32) * 3e-42);
    let r = fill(tiny, data);
    expect(firstDiff(r.wasm, r.js)).toBe(-1);
    const flat = linspaceEdges32(0, 0, 9);
    r = fill(flat, Float32Array.from([0, 0, -0, 0, 1, 0, 0, 0, 0]));
    expect(firstDiff(r.wasm, r.js)).toBe(-1);
    expect(r.addedWasm).toBe(8);
  });

  it('property: any float32 data on grids of changing sizes (the module\'s regions move)', () => {
    fc.assert(fc.property(
      fc.float32Array({ maxLength: 400 }), fc.integer({ min: 1, max: 9001 }), fc.float({ min: Math.fround(1e-30), max: Math.fround(1e30), noNaN: true }),
      (data, n, th) => {
        const r = fill(linspaceEdges32(-th, th, n), data);
        expect(firstDiff(r.wasm, r.js)).toBe(-1);
        expect(r.addedWasm).toBe(r.addedJs);
      }), { numRuns: 100 });
  });
});

describe('numpyScan (WebAssembly) vs histogramScanIntoJs', () => {
  function scan(th: number, n: number, data: Float32Array) {
    const edges = linspaceEdges32(-th, th, n);
    const js = new Float64Array(n);
    const wasm = new Float64Array(n);
    const a = histogramScanIntoJs(js, edges, data, th);
    const b = k.numpyScan(wasm, edges, data, th);
    expect(b.stoppedAt).toBe(a.stoppedAt);
    if (a.stoppedAt >= 0) {
      expect(firstDiff(wasm, new Float64Array(n))).toBe(-1); // counts untouched
      return;
    }
    expect(firstDiff(wasm, js)).toBe(-1);
    expect(Object.is(b.min, a.min) && Object.is(b.max, a.max)).toBe(true);
    expect([b.nan, b.inf]).toEqual([a.nan, a.inf]);
  }

  it('stops at the first finite value beyond the float64 limit, in the vector part and the tail', () => {
    const th = 0.1; // Math.fround(0.1) > 0.1: the float32 edge itself is outside
    for (const at of [0, 2, 4, 9, 10]) {
      const data = new Float32Array(11).map((_, i) => (i % 5) * 0.01 - 0.02);
      data[at] = Math.fround(0.1);
      scan(th, 11, data);
    }
  });

  it('NaN and ±Infinity are counted, zeros keep the first zero\'s sign as the extreme', () => {
    scan(3, 801, Float32Array.from([1, NaN, -Infinity, 2, Infinity, -1, 0, NaN, 2.5, -2.9, 3]));
    scan(3, 801, Float32Array.from([2, -0, 1, 0, 0, 1, 2, 3, 0.5, 0, -0]));
    scan(3, 801, Float32Array.from([2, 0, 1, -0, 0, 1, 2, 3, 0.5, 0, -0]));
    scan(3, 801, Float32Array.from([-2, 0, -1, -0, 0, -1, -2, -3, -0.5, 0, -0]));
    scan(3, 801, Float32Array.from([-0, 0, -0, 0, 0, 0, -0, 0, 0]));
  });

  it('property: any float32 data, limits and bin counts', () => {
    fc.assert(fc.property(
      fc.float32Array({ maxLength: 400 }), fc.integer({ min: 1, max: 9001 }), fc.float({ min: Math.fround(1e-30), max: Math.fround(1e30), noNaN: true }),
      fc.nat(20),
      (raw, n, th, z) => {
        // mostly inside the limit, so that most runs go through
        const data = raw.map((x, i) => (i % 7 === 3 ? x : Number.isFinite(x) ? (x % th) : x));
        if (data.length > z) data[z] = z % 2 ? -0 : 0;
        scan(th, n | 1, data);
      }), { numRuns: 200 });
  });

  it('histogramScanInto (WebAssembly or JavaScript) leaves the counts unchanged when it stops', () => {
    const edges = linspaceEdges32(-1, 1, 101);
    const data = new Float32Array(5000).map((_, i) => Math.sin(i) * 0.9);
    data[4321] = 1.5;
    for (const wasm of [true, false]) {
      setWasmKernels(wasm);
      const c = new Float64Array(101);
      expect(histogramScanInto(c, edges, data, 1).stoppedAt).toBe(4321);
      expect(c.every((x) => x === 0)).toBe(true);
    }
    setWasmKernels(true);
  });
});

describe('scanFinite (WebAssembly) vs scanFiniteJs', () => {
  it('property: any float32 data, with zeros of both signs', () => {
    fc.assert(fc.property(fc.float32Array({ minLength: 256, maxLength: 600 }), fc.nat(300), (data, z) => {
      data[z] = z % 2 ? -0 : 0;
      const a = scanFiniteJs(data);
      const b = scanFinite(data);
      expect(Object.is(a.min, b.min) && Object.is(a.max, b.max) && Object.is(a.absMax, b.absMax)).toBe(true);
      expect([b.finite, b.nan, b.inf]).toEqual([a.finite, a.nan, a.inf]);
    }), { numRuns: 200 });
  });
});

describe('entropy collector: WebAssembly and JavaScript kernels', () => {
  it('give the same snapshot (mxnet mode) over batches that grow the grid, fit it, hold NaN/±Inf and zeros', () => {
    const batches = fc.sample(fc.float32Array({ minLength: 6000, maxLength: 6000, noNaN: true, noDefaultInfinity: true, min: -5, max: 5 }), { numRuns: 6, seed: 19 });
    batches[1] = batches[1]!.map((x) => x * 0.5); // fits: the fused pass
    batches[2]![77] = NaN;
    batches[3]![5999] = -Infinity;
    batches[4] = batches[4]!.map((x) => x * 3); // grows
    batches.push(new Float32Array(3000));
    const run = (wasm: boolean) => {
      setWasmKernels(wasm);
      const c = entropyCollector.create({ ...entropyCollector.defaultOptions }, { tensors: [], logger: silentLogger });
      for (const d of batches) void c.collect('t', 'op', { data: d, dims: [d.length] });
      return JSON.stringify(c.snapshot!());
    };
    expect(run(true)).toBe(run(false));
    setWasmKernels(true);
  });
});
