import fc from 'fast-check';
import { setWasmKernels, type HistogramKernels } from '@qcal/kernels';
import { silentLogger } from '@qcal/plugin-kit';
import { linspaceEdges32 } from '@qcal/collector-entropy';
import { addToOrtAbsHistogram, absFinite, numpyArangeF32, ortAbsFillJs, ortAbsHistogram, percentileCollector } from '@qcal/collector-percentile';
import { builtKernels } from '../../../test-support/wasm-kernels';

// onnxruntime's |x| histogram of later batches (explicit edges, searchsorted right) in WebAssembly
// (@qcal/kernels ortAbsFill) against the JavaScript kernel, which stays the reference: the same
// counts bit for bit and the same number of values dropped below the first edge.

let k: HistogramKernels;
beforeAll(() => { k = builtKernels(); });
afterAll(() => setWasmKernels(true));

const f32 = Math.fround;

function firstDiff(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

function nextF32(x: number, up: boolean): number {
  const f = new Float32Array([x]);
  const u = new Int32Array(f.buffer);
  if (x === 0) return up ? 1e-45 : -1e-45;
  u[0] = u[0]! + ((x > 0) === up ? 1 : -1);
  return f[0]!;
}

/** A grown grid as onnxruntime makes it: linspace over [lo, hi], then arange edges of the same float32 width up to `top`. */
function grownEdges(lo: number, hi: number, n: number, top: number): Float32Array {
  const e = linspaceEdges32(lo, hi, n);
  const width = f32(e[1]! - e[0]!);
  const extra = numpyArangeF32(f32(e[n]! + width), f32(top + width), width);
  const out = new Float32Array(e.length + extra.length);
  out.set(e);
  out.set(extra, e.length);
  return out;
}

function both(edges: Float32Array, data: Float32Array) {
  const n = edges.length - 1;
  const js = new Float64Array(n);
  const wasm = new Float64Array(n);
  const dJs = ortAbsFillJs(js, edges, data);
  const dWasm = k.ortAbsFill(wasm, edges, data);
  expect(firstDiff(wasm, js)).toBe(-1);
  expect(dWasm).toBe(dJs);
  return { wasm, dropped: dWasm };
}

describe('ortAbsFill (WebAssembly) vs ortAbsFillJs', () => {
  it('hand-worked: 4 bins over [0.5, 2.5]; |x| taken, an edge opens its bin, the last edge closes the last bin; NaN/±Infinity skipped, below the first edge dropped', () => {
    const edges = Float32Array.from([0.5, 1, 1.5, 2, 2.5]);
    const r = both(edges, Float32Array.from([0.5, -1, 1.25, -1.5, 2.49, 2.5, -2.5, 3, 0.25, -0, NaN, Infinity, -Infinity, 1.75]));
    expect(Array.from(r.wasm)).toEqual([1, 2, 2, 3]); // 0.5 | 1, 1.25 | 1.5, 1.75 | 2.49, 2.5, 2.5
    expect(r.dropped).toBe(2); // 0.25 and −0
  });

  it('every edge of linspace and grown (arange) grids and its neighbours one ulp away, both signs', () => {
    for (const edges of [linspaceEdges32(0.001, 3.7, 2048), grownEdges(0.001, 3.7, 2048, 11.3), linspaceEdges32(6.5, 7.5, 101), grownEdges(1e-6, 2e-6, 128, 9e-6)]) {
      const vals: number[] = [];
      for (const e of edges) vals.push(e, nextF32(e, true), nextF32(e, false), -e, -nextF32(e, false));
      both(edges, Float32Array.from(vals));
    }
  });

  it('subnormals, zeros, the largest float32, at every position of a vector and the tail', () => {
    const edges = linspaceEdges32(0, 1e-39, 16);
    for (const n of [3, 4, 5, 8, 11]) {
      for (const s of [1e-45, -1e-45, 0, -0, 3.4028234663852886e38, NaN, -Infinity, 5e-40, -1e-39]) {
        for (let at = 0; at < n; at++) {
          const data = new Float32Array(n).fill(2e-40);
          data[at] = s;
          both(edges, data);
        }
      }
    }
  });

  it('property: any float32 data on linspace and grown grids of any size', () => {
    fc.assert(fc.property(
      fc.float32Array({ maxLength: 500 }), fc.integer({ min: 1, max: 3000 }), fc.float({ min: f32(1e-30), max: f32(1e30), noNaN: true }), fc.boolean(),
      (raw, n, hi, grow) => {
        const lo = f32(hi / 7);
        if (!(lo < hi)) return;
        const edges = grow ? grownEdges(lo, hi, n, hi * 2.5) : linspaceEdges32(lo, hi, n);
        const data = raw.map((x, i) => (i % 6 === 0 || !Number.isFinite(x) ? x : x % (hi * 3)));
        both(edges, data);
      }), { numRuns: 150 });
  });
});

describe('addToOrtAbsHistogram and the percentile collector: WebAssembly and JavaScript kernels', () => {
  const batches = fc.sample(fc.float32Array({ minLength: 6000, maxLength: 6000, noNaN: true, noDefaultInfinity: true, min: -3, max: 3 }), { numRuns: 4, seed: 31 });
  batches[1]![17] = NaN;
  batches[1]![18] = -Infinity;
  batches[2] = batches[2]!.map((x) => x * 2.5); // grows the grid
  batches[3]![5] = -9.5; // grows the grid again, from a negative value

  it('raw batches and absFinite(batch) give the same histogram, with either kernel', () => {
    const runs = [];
    for (const wasm of [true, false]) {
      setWasmKernels(wasm);
      for (const raw of [true, false]) {
        let h = ortAbsHistogram(absFinite(batches[0]!), 512);
        for (const b of batches.slice(1)) h = addToOrtAbsHistogram(h, raw ? b : absFinite(b));
        runs.push(h);
      }
    }
    for (const h of runs.slice(1)) {
      expect(firstDiff(h.counts, runs[0]!.counts)).toBe(-1);
      expect(h.edges).toEqual(runs[0]!.edges);
      expect(h.dropped).toBe(runs[0]!.dropped);
    }
  });

  it('the collector gives the same table', async () => {
    const run = async (wasm: boolean) => {
      setWasmKernels(wasm);
      const c = percentileCollector.create({ ...percentileCollector.defaultOptions }, { tensors: [], logger: silentLogger });
      for (const d of batches.slice(0, 3)) void c.collect('t', 'op', { data: d, dims: [d.length] });
      return JSON.stringify(await c.postCollect({ tensors: [], logger: silentLogger }));
    };
    expect(await run(true)).toBe(await run(false));
  });
});
