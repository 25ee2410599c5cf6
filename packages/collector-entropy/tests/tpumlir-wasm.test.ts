import fc from 'fast-check';
import { setWasmKernels, type HistogramKernels } from '@qcal/kernels';
import { silentLogger } from '@qcal/plugin-kit';
import { entropyCollector, linspaceEdges32, tpumlirHistogramIntoJs } from '@qcal/collector-entropy';
import { builtKernels } from '../../../test-support/wasm-kernels';

// tpu-mlir's |x| histogram (entropy's tpumlir mode) in WebAssembly (@qcal/kernels tpumlirFill)
// against the JavaScript kernel, which stays the reference: the same counts bit for bit.

const f32 = Math.fround;
let k: HistogramKernels;
beforeAll(() => { k = builtKernels(); });
afterAll(() => setWasmKernels(true));

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

/** Both kernels on the grid of `n` bins for abs-max `th` (width f32(th/(n−1)), tpu-mlir's). */
function both(data: Float32Array, th: number, n: number) {
  const width = f32(f32(th) / (n - 1));
  const edges = linspaceEdges32(0, n - 1, n);
  const js = new Float64Array(n);
  const wasm = new Float64Array(n);
  tpumlirHistogramIntoJs(js, edges, width, data);
  k.tpumlirFill(wasm, edges, width, data);
  expect(firstDiff(wasm, js)).toBe(-1);
  return wasm;
}

describe('tpumlirFill (WebAssembly) vs tpumlirHistogramIntoJs', () => {
  it('hand-worked: 3 bins centred on 0, 1, 2 (width 1); zeros, NaN, ±Infinity and k beyond the last bin skipped', () => {
    const c = both(Float32Array.from([0.4, -0.6, 1.49, 1.5, -2.2, 2.5, 0, -0, NaN, Infinity, -Infinity, 0.1]), 2, 3);
    // k = floor(|x| + 0.5): 0.4→0, 0.6→1, 1.49→1, 1.5→2, 2.2→2, 2.5→3 (beyond), 0.1→0
    expect(Array.from(c)).toEqual([2, 2, 2]);
  });

  it('values at every half-integer position ±1 ulp, grids of 2048 and 8193 bins (NumPy\'s edges round above 4096)', () => {
    for (const [n, th] of [[2048, 3.7], [8193, 0.02]] as const) {
      const width = f32(f32(th) / (n - 1));
      const vals: number[] = [];
      for (let j = 0; j < n + 2; j++) {
        const x = f32((j + 0.5) * width);
        vals.push(x, nextF32(x, true), nextF32(x, false), -x, f32(j * width));
      }
      both(Float32Array.from(vals), th, n);
    }
  });

  it('subnormal and huge values, at every position of a vector and the tail', () => {
    for (const n of [3, 4, 5, 8, 11]) {
      for (const s of [1e-45, -1e-45, 3.4028234663852886e38, -0, NaN, -Infinity, 1e-38]) {
        for (let at = 0; at < n; at++) {
          const data = new Float32Array(n).fill(0.7);
          data[at] = s;
          both(data, 1, 64);
          both(data, 1e-30, 64);
        }
      }
    }
  });

  it('property: any float32 data, abs-max and bin count', () => {
    fc.assert(fc.property(
      fc.float32Array({ maxLength: 500 }), fc.integer({ min: 2, max: 5000 }), fc.float({ min: f32(1e-8), max: f32(1e30), noNaN: true }),
      (raw, n, th) => {
        const data = raw.map((x, i) => (i % 6 === 0 || !Number.isFinite(x) ? x : x % (th * 1.2)));
        both(data, th, n);
      }), { numRuns: 150 });
  });
});

describe('entropy in tpumlir mode: WebAssembly and JavaScript kernels', () => {
  it('give the same table (batches that grow the grid, NaN, a skipped tiny batch)', async () => {
    const batches = fc.sample(fc.float32Array({ minLength: 6000, maxLength: 6000, noNaN: true, noDefaultInfinity: true, min: -2, max: 2 }), { numRuns: 4, seed: 41 });
    batches[1]![3] = NaN;
    batches[2] = batches[2]!.map((x) => x * 2.5);
    batches[3] = batches[3]!.map((x) => x * 1e-10); // below tpu-mlir's 1e-8 abs-max: skipped for the histogram
    const run = async (wasm: boolean) => {
      setWasmKernels(wasm);
      const c = entropyCollector.create({ ...entropyCollector.defaultOptions, mode: 'tpumlir' }, { tensors: [], logger: silentLogger });
      for (const d of batches) void c.collect('t', 'op', { data: d, dims: [d.length] });
      return JSON.stringify(await c.postCollect({ tensors: [], logger: silentLogger, threads: 1 }));
    };
    expect(await run(true)).toBe(await run(false));
  });
});
