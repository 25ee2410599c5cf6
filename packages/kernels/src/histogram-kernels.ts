import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Running min/max/non-finite tally of {@link HistogramKernels.numpyScan}. */
export interface NumpyScanResult {
  min: number;
  max: number;
  nan: number;
  inf: number;
  /** -1 when every value was handled; else the index of the first finite value outside [−limit, limit]. */
  stoppedAt: number;
}

/** Finite range of a tensor and what was left out of it ({@link HistogramKernels.finiteRange}). */
export interface FiniteRange { min: number; max: number; nan: number; inf: number }

/** The running sum of squares and min/max that {@link HistogramKernels.moment} continues. */
export interface MomentTally { ss: number; lo: number; hi: number }

/**
 * The histogram collectors' per-value loops in WebAssembly. Each method is the twin of a JavaScript
 * kernel that lives in its collector (named below) and gives the same bits; the collectors keep
 * their JavaScript kernel as the reference and as the fallback when the module is not built.
 * The caller's float64 counts are copied into the module and back (a stop that must leave them
 * unchanged just does not copy them back).
 */
export interface HistogramKernels {
  /**
   * collector-hfmg `histcRun(counts, data, from, to, lo, hi, range, delta)` (delta 1 or −1, default 1):
   * torch.histc's bins of `data[from..to)` over [lo, hi] until the first value outside; returns where it stopped.
   * lo and hi must be float32 values and range `f32(hi − lo)` at most 2^110 (the caller keeps the
   * JavaScript kernel otherwise); counts.length a power of two.
   */
  histc(counts: Float64Array, data: Float32Array, from: number, to: number, lo: number, hi: number, range: number, delta?: number): number;
  /**
   * collector-hfmg `finiteRange(data)` (and collector-ifmr's from an index): min and max of the
   * values with |x| < `limit` (default 2^100; min > max when there is none), how many are NaN, how
   * many are ±Infinity or |x| >= limit. With limit +Infinity, collector-minmax's `finiteMinMax`.
   * A zero extreme has the sign of the first zero, as the references' sequential
   * `if (v < min) min = v` gives. `limit` must be a float32 value (2^100 and +Infinity are).
   */
  finiteRange(data: Float32Array, limit?: number): FiniteRange;
  /**
   * collector-ifmr `binRun`: lattice bins `x = v·inv − o` of `data[from..]` (count and float64 sum
   * per bin, in value order) until x leaves [0, top) or is not above `bottom`; `tally` (sum of
   * squares of the values binned by this call, running min/max) is updated. Returns where it stopped.
   */
  moment(count: Float64Array, sum: Float64Array, data: Float32Array, from: number, inv: number, o: number, top: number, bottom: number, tally: MomentTally): number;
  /**
   * collector-entropy `histcAbsIntoJs(counts, data, lo, hi)` after its degenerate-range widening:
   * torch.histc's bins of |x| over [lo, hi] (float32 lo < hi, span = f32(hi − lo), span·counts.length
   * below 2^128); NaN, ±Infinity and values outside are skipped. Returns the number binned.
   */
  histcAbs(counts: Float64Array, data: Float32Array, lo: number, hi: number, span: number): number;
  /**
   * collector-percentile `ortAbsFillJs(counts, edges, data)`: onnxruntime's |x| histogram of a later
   * batch on explicit float32 edges (edges[0] < edges[n], n = counts.length): NaN and ±Infinity
   * skipped; returns how many finite |x| fell below the first edge (not counted).
   */
  ortAbsFill(counts: Float64Array, edges: Float32Array, data: Float32Array): number;
  /**
   * collector-entropy `tpumlirHistogramIntoJs(counts, edges, width, data)`: tpu-mlir's |x| histogram
   * (width a float32 value, edges the n float32 edges of range (0, n − 1), n = counts.length < 2^24).
   */
  tpumlirFill(counts: Float64Array, edges: Float32Array, width: number, data: Float32Array): void;
  /** collector-entropy `histogramIntoJs(counts, edges, data)` (weight 1): returns the number of values binned. */
  numpyFill(counts: Float64Array, edges: Float32Array, data: Float32Array): number;
  /**
   * collector-entropy `histogramScanIntoJs(counts, edges, data, limit)` (0 <= limit < 2^127), except that when it stops
   * (a finite value outside [−limit, limit]) `counts` are left unchanged: nothing to undo. A zero
   * extreme has the sign of the first zero, as the reference's sequential scan gives.
   */
  numpyScan(counts: Float64Array, edges: Float32Array, data: Float32Array, limit: number): NumpyScanResult;
}

/** The parts of the WebAssembly API used here (the project's TypeScript lib has no WebAssembly types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const WASM = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface Exports {
  memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  histc(data: number, len: number, counts: number, nbins: number, lo: number, hi: number, range: number, delta: number): number;
  moment(data: number, len: number, counts: number, sums: number, inv: number, o: number, top: number, bottom: number, state: number): number;
  numpyFill(data: number, len: number, counts: number, edges: number, n: number): number;
  histcAbs(data: number, len: number, counts: number, n: number, lo: number, hi: number, span: number): number;
  ortAbsFill(data: number, len: number, counts: number, edges: number, n: number, scale: number, state: number): void;
  tpumlirFill(data: number, len: number, counts: number, edges: number, n: number, width: number): void;
  numpyScan(data: number, len: number, counts: number, edges: number, n: number, limit: number, inner: number, state: number): number;
  finiteRange(data: number, len: number, state: number, limit: number): void;
  sum(data: number, len: number): number;
}

/** Values copied into the module per call: small enough to stay in cache while the kernel reads them. */
const CHUNK = 16384;
/** Layout (bytes): static data (none) below BASE, then a 64-byte state block, the data chunk, float64 counts, and edges or sums. */
const BASE = 65536;
const STATE = BASE;
const DATA = STATE + 64;
const COUNTS = DATA + 4 * CHUNK;

let compiled: object | null | undefined;
let enabled = !process.env.QCAL_NO_WASM;
let kernels: HistogramKernels | null | undefined;

/** The built module (dist/wasm/histograms.wasm), compiled once per thread; null when absent. */
function wasmModule(): object | null {
  if (compiled !== undefined) return compiled;
  compiled = null;
  // From dist (built) or src (ts-jest): the module sits in dist/wasm.
  const file = [join(__dirname, 'wasm', 'histograms.wasm'), join(__dirname, '..', 'dist', 'wasm', 'histograms.wasm')].find((f) => existsSync(f));
  if (file) compiled = new WASM.Module(readFileSync(file));
  return compiled;
}

/**
 * The WebAssembly histogram kernels of this thread (one instance, its memory grown to the largest
 * histogram seen), or null when the module is not built (`npm run build:wasm -w @qcal/kernels`),
 * when `QCAL_NO_WASM` is set, or after `setWasmKernels(false)`.
 */
export function histogramKernels(): HistogramKernels | null {
  if (!enabled) return null;
  if (kernels === undefined) {
    const mod = wasmModule();
    kernels = mod ? instantiate(mod) : null;
  }
  return kernels;
}

/** Turns the WebAssembly kernels off (the collectors then run their JavaScript kernels) or back on; for tests and benchmarks. */
export function setWasmKernels(on: boolean): void {
  enabled = on && !process.env.QCAL_NO_WASM;
}

/** 2^100: finiteRange's default limit (the collectors count |x| >= 2^100 as overflowed, infinite). */
const OVERFLOW = 2 ** 100;

const BITS = new Float32Array(1);
const BITS_I = new Int32Array(BITS.buffer);

/** The largest float32 not above x (x finite and >= 0). */
function float32AtMost(x: number): number {
  BITS[0] = x;
  if (BITS[0]! > x) BITS_I[0] = BITS_I[0]! - 1; // rounded up: one ulp down (x >= 0, so the bits are positive)
  return BITS[0]!;
}

function instantiate(mod: object): HistogramKernels {
  const ex = new WASM.Instance(mod, {}).exports as unknown as Exports;
  let buf = ex.memory.buffer;
  let f32 = new Float32Array(buf);
  let f64 = new Float64Array(buf);
  /** Makes room for `bins` float64 counts and `auxBytes` after them; returns the aux offset. */
  const reserve = (bins: number, auxBytes: number): number => {
    const aux = (COUNTS + 8 * bins + 15) & ~15;
    const end = aux + auxBytes;
    if (end > buf.byteLength) {
      ex.memory.grow(Math.ceil((end - buf.byteLength) / 65536));
      buf = ex.memory.buffer;
      f32 = new Float32Array(buf);
      f64 = new Float64Array(buf);
    }
    return aux;
  };
  reserve(0, 0); // the state block and the data chunk
  /** The caller's counts into the module (a copy), and back. */
  const countsIn = (counts: Float64Array): void => { f64.set(counts, COUNTS >> 3); };
  const countsOut = (counts: Float64Array): void => { counts.set(f64.subarray(COUNTS >> 3, (COUNTS >> 3) + counts.length)); };
  const load = (data: Float32Array, i: number, len: number): void => { f32.set(len === data.length ? data : data.subarray(i, i + len), DATA >> 2); };

  /** The first zero of `data` (the sign a sequential min/max scan leaves on a zero extreme). */
  const firstZero = (data: Float32Array): number => {
    for (let i = 0; i < data.length; i++) if (data[i] === 0) return data[i]!;
    return 0;
  };
  /** The scan's extremes from the state block, a zero extreme given the sign of the first zero of `data`. */
  const extremes = (s: number, data: Float32Array): { min: number; max: number } => {
    let min = f64[s]!;
    let max = f64[s + 1]!;
    if (min === 0 || max === 0) {
      const z = firstZero(data);
      if (min === 0) min = z;
      if (max === 0) max = z;
    }
    return { min, max };
  };

  return {
    finiteRange(data, limit = OVERFLOW) {
      const s = STATE >> 3;
      f64[s] = Infinity;
      f64[s + 1] = -Infinity;
      f64[s + 2] = 0;
      f64[s + 3] = 0;
      for (let i = 0; i < data.length; i += CHUNK) {
        const len = Math.min(CHUNK, data.length - i);
        load(data, i, len);
        ex.finiteRange(DATA, len, STATE, limit);
      }
      const { min, max } = extremes(s, data);
      return { min, max, nan: f64[s + 2]!, inf: f64[s + 3]! };
    },

    histc(counts, data, from, to, lo, hi, range, delta = 1) {
      const nb = counts.length;
      reserve(nb, 0);
      countsIn(counts);
      let i = from;
      while (i < to) {
        const len = Math.min(CHUNK, to - i);
        load(data, i, len);
        const k = ex.histc(DATA, len, COUNTS, nb, lo, hi, range, delta);
        i += k;
        if (k < len) break;
      }
      countsOut(counts);
      return i;
    },

    moment(count, sum, data, from, inv, o, top, bottom, tally) {
      const nb = count.length;
      const pSum = reserve(nb, 8 * nb);
      countsIn(count);
      f64.set(sum, pSum >> 3);
      const s = STATE >> 3;
      f64[s] = 0;
      f64[s + 1] = tally.lo;
      f64[s + 2] = tally.hi;
      const n = data.length;
      let i = from;
      while (i < n) {
        const len = Math.min(CHUNK, n - i);
        load(data, i, len);
        const k = ex.moment(DATA, len, COUNTS, pSum, inv, o, top, bottom, STATE);
        i += k;
        if (k < len) break;
      }
      sum.set(f64.subarray(pSum >> 3, (pSum >> 3) + nb));
      countsOut(count);
      tally.ss += f64[s]!;
      tally.lo = f64[s + 1]!;
      tally.hi = f64[s + 2]!;
      return i;
    },

    histcAbs(counts, data, lo, hi, span) {
      const n = counts.length;
      reserve(n, 0);
      countsIn(counts);
      let added = 0;
      for (let i = 0; i < data.length; i += CHUNK) {
        const len = Math.min(CHUNK, data.length - i);
        load(data, i, len);
        added += ex.histcAbs(DATA, len, COUNTS, n, lo, hi, span);
      }
      countsOut(counts);
      return added;
    },

    tpumlirFill(counts, edges, width, data) {
      const n = counts.length;
      const pEdges = reserve(n, 4 * (n + 1));
      f32.set(edges.subarray(0, n), pEdges >> 2);
      countsIn(counts);
      for (let i = 0; i < data.length; i += CHUNK) {
        const len = Math.min(CHUNK, data.length - i);
        load(data, i, len);
        ex.tpumlirFill(DATA, len, COUNTS, pEdges, n, width);
      }
      countsOut(counts);
    },

    ortAbsFill(counts, edges, data) {
      const n = counts.length;
      const pEdges = reserve(n, 4 * (n + 1));
      f32.set(edges.subarray(0, n + 1), pEdges >> 2);
      countsIn(counts);
      const scale = n / (edges[n]! - edges[0]!);
      const s = STATE >> 3;
      f64[s] = 0;
      for (let i = 0; i < data.length; i += CHUNK) {
        const len = Math.min(CHUNK, data.length - i);
        load(data, i, len);
        ex.ortAbsFill(DATA, len, COUNTS, pEdges, n, scale, STATE);
      }
      countsOut(counts);
      return f64[s]!;
    },

    numpyFill(counts, edges, data) {
      const n = counts.length;
      const pEdges = reserve(n, 4 * (n + 1));
      f32.set(edges.subarray(0, n + 1), pEdges >> 2);
      countsIn(counts);
      let added = 0;
      for (let i = 0; i < data.length; i += CHUNK) {
        const len = Math.min(CHUNK, data.length - i);
        load(data, i, len);
        added += ex.numpyFill(DATA, len, COUNTS, pEdges, n);
      }
      countsOut(counts);
      return added;
    },

    numpyScan(counts, edges, data, limit) {
      const n = counts.length;
      const pEdges = reserve(n, 4 * (n + 1));
      f32.set(edges.subarray(0, n + 1), pEdges >> 2);
      countsIn(counts);
      const inner = float32AtMost(limit);
      const s = STATE >> 3;
      f64[s] = Infinity;
      f64[s + 1] = -Infinity;
      f64[s + 2] = 0;
      f64[s + 3] = 0;
      let stoppedAt = -1;
      for (let i = 0; i < data.length; i += CHUNK) {
        const len = Math.min(CHUNK, data.length - i);
        load(data, i, len);
        const k = ex.numpyScan(DATA, len, COUNTS, pEdges, n, limit, inner, STATE);
        if (k < len) { stoppedAt = i + k; break; }
      }
      if (stoppedAt >= 0) {
        // the counts in the module are dropped: the caller's stay as they were
        return { min: f64[s]!, max: f64[s + 1]!, nan: f64[s + 2]!, inf: f64[s + 3]!, stoppedAt };
      }
      countsOut(counts);
      const { min, max } = extremes(s, data);
      return { min, max, nan: f64[s + 2]!, inf: f64[s + 3]!, stoppedAt };
    },
  };
}

/** A WebAssembly read loop over given tensors: bench/kernels.js's measure of what reading a value costs. */
export interface ReadProbe {
  /** Sums every tensor from a copy of all of them in the probe's own memory (made once, not timed): the read bandwidth of a WebAssembly loop. */
  resident(): number;
  /** Sums every tensor copied into the probe's memory 16384 values at a time, as the kernels read a tensor: the floor of a kernel call. */
  copied(): number;
}

/**
 * A {@link ReadProbe} over `arrays` (the float32x4 `sum` loop of the kernels' module, in an instance
 * of its own so the kernels' memory does not grow); null when the module is not built. For
 * benchmarks: holds a copy of every array.
 */
export function readProbe(arrays: readonly Float32Array[]): ReadProbe | null {
  const mod = wasmModule();
  if (!mod) return null;
  const ex = new WASM.Instance(mod, {}).exports as unknown as Exports;
  const total = arrays.reduce((s, a) => s + a.length, 0);
  const base = DATA + 4 * CHUNK;
  const need = base + 4 * total + 64 * arrays.length;
  if (need > ex.memory.buffer.byteLength) ex.memory.grow(Math.ceil((need - ex.memory.buffer.byteLength) / 65536));
  const f32 = new Float32Array(ex.memory.buffer);
  const at: number[] = [];
  let p = base;
  for (const a of arrays) {
    at.push(p);
    f32.set(a, p >> 2);
    p = (p + 4 * a.length + 63) & ~63;
  }
  return {
    resident() {
      let s = 0;
      for (let t = 0; t < arrays.length; t++) s += ex.sum(at[t]!, arrays[t]!.length);
      return s;
    },
    copied() {
      let s = 0;
      for (const a of arrays) {
        for (let i = 0; i < a.length; i += CHUNK) {
          const len = Math.min(CHUNK, a.length - i);
          f32.set(a.subarray(i, i + len), DATA >> 2);
          s += ex.sum(DATA, len);
        }
      }
      return s;
    },
  };
}
