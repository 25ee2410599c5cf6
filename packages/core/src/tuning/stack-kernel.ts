import { WASM, wasmModule } from './pointwise-wasm';

/**
 * The per-value work around an op that onnxruntime runs for auto-tune: the tuned input
 * fake-quantized at every candidate and stacked along dim 0, the distance of the op's stacked
 * output to the FP32 reference, and the closed form of ops that only copy their input. In
 * WebAssembly (SIMD, assembly/pointwise.ts) when the module is built, with the batch's arrays in
 * the module's memory: onnxruntime reads the stacked input from and writes the op's output into
 * them in place (a pre-allocated output), so no activation value is copied between JavaScript,
 * onnxruntime and the kernel. The JavaScript twin (module not built, or `QCAL_NO_WASM=1`) does
 * the same on ordinary arrays.
 *
 * Fake quantization is `fakeQuantActivation`'s, bit for bit: fround(x·s) rounded half to even,
 * clipped to [−128, 127], divided by s in float32. Differences and squares are in double. The
 * WebAssembly sums run over four lanes, the JavaScript twin's in value order (agreeing up to
 * rounding). NaN propagates into the candidate's sum; ±Infinity is clipped like any out-of-range value.
 */
export interface StackKernel {
  /** True when the WebAssembly module runs. */
  readonly wasm: boolean;
  /**
   * Float32 arrays of the given lengths for one batch of up to `k` candidates. In WebAssembly
   * memory when the module runs; valid until the next call (which may move them).
   */
  arrays(lengths: readonly number[], k: number): Float32Array[];
  /** `stacked[j·n + i] = fq(x[i], scales[j])`, n = x.length; x and stacked from {@link arrays}. */
  quantize(x: Float32Array, scales: Float32Array, stacked: Float32Array): void;
  /** `sums[j] += Σᵢ (ref[i] − out[j·m + i])²` for j < sums.length, m = ref.length; ref and out from {@link arrays}. */
  squaredErrors(ref: Float32Array, out: Float32Array, sums: Float64Array): void;
  /** `sums[j] += Σᵢ w[i]·(x[i] − fq(x[i], scales[j]))²`: an op whose output holds x[i] w[i] times; x and w from {@link arrays}. */
  copyErrors(x: Float32Array, w: Float32Array, scales: Float32Array, sums: Float64Array): void;
}

interface Exports {
  memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  fakeQuantStack(x: number, n: number, scales: number, k: number, out: number): void;
  sqDiffStack(ref: number, out: number, m: number, k: number, acc: number, tail: number): void;
  copyErrors(x: number, w: number, n: number, scales: number, k: number, acc: number, tail: number): void;
}

/** The size checks both kernels make (a mismatch is a caller's bug: the kernel would read past the arrays). */
function check(kind: 'quantize' | 'squaredErrors' | 'copyErrors', a: Float32Array, b: Float32Array, k: number): void {
  if (kind === 'quantize' && b.length !== a.length * k) throw new Error(`stack kernel: ${b.length} stacked values for ${k} × ${a.length}`);
  if (kind === 'squaredErrors' && b.length !== a.length * k) throw new Error(`stack kernel: ${b.length} outputs for ${k} × ${a.length}`);
  if (kind === 'copyErrors' && b.length !== a.length) throw new Error(`stack kernel: ${a.length} values and ${b.length} weights`);
}

/** 64-byte alignment: cache lines for the kernel, and what onnxruntime's allocator would give. */
const align = (n: number): number => Math.ceil(n / 64) * 64;

/** A kernel with its own WebAssembly memory (grown to the largest batch, released with the kernel). */
export function createStackKernel(): StackKernel {
  const mod = wasmModule();
  if (!mod) return jsStackKernel();
  const ex = new WASM.Instance(mod, {}).exports as unknown as Exports;
  // Past the first page (the module's static data, none today); then scales, lane sums and tails for `cap` candidates.
  const base = 65536;
  let cap = 0;
  let pScales = base;
  let pAcc = base;
  let pTail = base;
  const pointer = (a: Float32Array): number => {
    if (a.buffer !== ex.memory.buffer) throw new Error('stack kernel: an array that is not from arrays() (or from before the last call)');
    return a.byteOffset;
  };
  /** Clears the k lane sums, runs `f`, adds the lanes into `sums`. */
  const summed = (sums: Float64Array, f: (acc: number, tail: number) => void): void => {
    const k = sums.length;
    if (k > cap) throw new Error(`stack kernel: ${k} candidates, arrays() reserved ${cap}`);
    const buf = ex.memory.buffer;
    new Float64Array(buf, pAcc, 4 * k).fill(0);
    new Float64Array(buf, pTail, k).fill(0);
    f(pAcc, pTail);
    const acc = new Float64Array(ex.memory.buffer, pAcc, 4 * k);
    const tail = new Float64Array(ex.memory.buffer, pTail, k);
    for (let j = 0; j < k; j++) {
      const a = 4 * j;
      sums[j] = sums[j]! + ((acc[a]! + acc[a + 1]!) + (acc[a + 2]! + acc[a + 3]!) + tail[j]!);
    }
  };
  const setScales = (scales: Float32Array): number => {
    if (scales.length > cap) throw new Error(`stack kernel: ${scales.length} candidates, arrays() reserved ${cap}`);
    new Float32Array(ex.memory.buffer, pScales, scales.length).set(scales);
    return pScales;
  };
  return {
    wasm: true,
    arrays(lengths, k) {
      cap = k;
      pScales = base;
      pAcc = align(pScales + 4 * k);
      pTail = align(pAcc + 32 * k);
      let at = align(pTail + 8 * k);
      const offsets = lengths.map((n) => { const p = at; at = align(at + 4 * n); return p; });
      const have = ex.memory.buffer.byteLength;
      if (at > have) ex.memory.grow(Math.ceil((at - have) / 65536));
      return lengths.map((n, i) => new Float32Array(ex.memory.buffer, offsets[i]!, n));
    },
    quantize(x, scales, stacked) {
      check('quantize', x, stacked, scales.length);
      ex.fakeQuantStack(pointer(x), x.length, setScales(scales), scales.length, pointer(stacked));
    },
    squaredErrors(ref, out, sums) {
      check('squaredErrors', ref, out, sums.length);
      const pRef = pointer(ref);
      const pOut = pointer(out);
      summed(sums, (acc, tail) => ex.sqDiffStack(pRef, pOut, ref.length, sums.length, acc, tail));
    },
    copyErrors(x, w, scales, sums) {
      check('copyErrors', x, w, 1);
      if (scales.length !== sums.length) throw new Error(`stack kernel: ${scales.length} scales for ${sums.length} sums`);
      const pX = pointer(x);
      const pW = pointer(w);
      const pS = setScales(scales);
      summed(sums, (acc, tail) => ex.copyErrors(pX, pW, x.length, pS, scales.length, acc, tail));
    },
  };
}

/** fround(clip(roundHalfEven(fround(v·s)), −128, 127) / s). */
function fq(v: number, s: number): number {
  const y = Math.fround(v * s);
  let r = Math.round(y);
  // Math.round rounds .5 up; at an exact tie take the even neighbour (numpy's rint).
  if (r - y === 0.5 && (r & 1) !== 0) r -= 1;
  r = r > 127 ? 127 : r < -128 ? -128 : r;
  return Math.fround(r / s);
}

/** The JavaScript twin: the same arithmetic, sums in value order. */
export function jsStackKernel(): StackKernel {
  return {
    wasm: false,
    arrays: (lengths) => lengths.map((n) => new Float32Array(n)),
    quantize(x, scales, stacked) {
      check('quantize', x, stacked, scales.length);
      const n = x.length;
      for (let j = 0; j < scales.length; j++) {
        const s = scales[j]!;
        for (let i = 0; i < n; i++) stacked[j * n + i] = fq(x[i]!, s);
      }
    },
    squaredErrors(ref, out, sums) {
      check('squaredErrors', ref, out, sums.length);
      const m = ref.length;
      for (let j = 0; j < sums.length; j++) {
        let acc = 0;
        for (let i = 0; i < m; i++) { const d = ref[i]! - out[j * m + i]!; acc += d * d; }
        sums[j] = sums[j]! + acc;
      }
    },
    copyErrors(x, w, scales, sums) {
      check('copyErrors', x, w, 1);
      for (let j = 0; j < sums.length; j++) {
        const s = scales[j]!;
        let acc = 0;
        for (let i = 0; i < x.length; i++) { const d = x[i]! - fq(x[i]!, s); acc += w[i]! * (d * d); }
        sums[j] = sums[j]! + acc;
      }
    },
  };
}
