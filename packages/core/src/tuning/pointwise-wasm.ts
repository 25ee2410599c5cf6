import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pointwiseSquaredErrors, type PointwiseKind, type TunedRole } from './pointwise';

/** Evaluates {@link pointwiseSquaredErrors}, in WebAssembly (SIMD) when the module is built. */
export interface PointwiseKernel {
  /** True when the WebAssembly module runs (`npm run build:wasm -w @qcal/core`), false for the JavaScript fallback. */
  readonly wasm: boolean;
  /** Same contract as {@link pointwiseSquaredErrors}: adds each candidate's Σ(ref − out)² to `sums[j]`. */
  squaredErrors(kind: PointwiseKind, role: TunedRole, x: Float32Array, other: Float32Array | undefined, ref: Float32Array, scales: Float32Array, sums: Float64Array, lo?: number, hi?: number): void;
}

const KIND: Record<PointwiseKind, number> = { Add: 0, Sub: 1, Mul: 2, Div: 3, Relu: 4, Clip: 5 };
const ROLE: Record<TunedRole, number> = { first: 0, second: 1, both: 2 };

/** The parts of the WebAssembly API used here (the project's TypeScript lib has no WebAssembly types). */
export interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
export const WASM = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface Exports {
  memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  sqErrors(kind: number, role: number, x: number, o: number, ref: number, n: number, scales: number, k: number, acc: number, tail: number, lo: number, hi: number): void;
}

let compiled: object | null | undefined;

/** The built module (dist/wasm/pointwise.wasm, from assembly/pointwise.ts), compiled once; null when absent or disabled (`QCAL_NO_WASM`). */
export function wasmModule(): object | null {
  if (compiled !== undefined) return compiled;
  compiled = null;
  if (process.env.QCAL_NO_WASM) return compiled;
  // From dist/tuning (built) or src/tuning (ts-jest): the module sits in dist/wasm.
  const file = [join(__dirname, '..', 'wasm', 'pointwise.wasm'), join(__dirname, '..', '..', 'dist', 'wasm', 'pointwise.wasm')].find((f) => existsSync(f));
  if (file) compiled = new WASM.Module(readFileSync(file));
  return compiled;
}

const align = (n: number): number => (n + 15) & ~15;

/**
 * A kernel with its own WebAssembly memory (grown to the largest tensor seen, released with the
 * kernel). The WebAssembly sums run over four lanes (see assembly/pointwise.ts) where the
 * JavaScript fallback sums in value order: the two agree up to rounding, the op outputs bit for bit.
 */
export function createPointwiseKernel(): PointwiseKernel {
  const mod = wasmModule();
  if (!mod) return { wasm: false, squaredErrors: pointwiseSquaredErrors };
  const ex = new WASM.Instance(mod, {}).exports as unknown as Exports;
  // The module's static data (none today) lives below the heap base; start past the first page.
  const base = 65536;
  return {
    wasm: true,
    squaredErrors(kind, role, x, other, ref, scales, sums, lo = -Infinity, hi = Infinity) {
      const n = ref.length;
      const k = scales.length;
      if (x.length !== n || (other && other.length !== n)) throw new Error(`pointwise: ${x.length} tuned values and ${other?.length ?? 'no'} other values for ${n} outputs`);
      const pScales = base;
      const pAcc = align(pScales + 4 * k);
      const pTail = align(pAcc + 32 * k);
      const pX = align(pTail + 8 * k);
      const pO = other ? align(pX + 4 * n) : pX;
      const pRef = align(pO + 4 * n);
      const end = pRef + 4 * n;
      const have = ex.memory.buffer.byteLength;
      if (end > have) ex.memory.grow(Math.ceil((end - have) / 65536));
      const buf = ex.memory.buffer;
      new Float32Array(buf, pScales, k).set(scales);
      new Float64Array(buf, pAcc, 4 * k).fill(0);
      new Float64Array(buf, pTail, k).fill(0);
      new Float32Array(buf, pX, n).set(x);
      if (other) new Float32Array(buf, pO, n).set(other);
      new Float32Array(buf, pRef, n).set(ref);
      // Relu and Clip have one operand: the module's role 0.
      ex.sqErrors(KIND[kind], kind === 'Relu' || kind === 'Clip' ? 0 : ROLE[role], pX, pO, pRef, n, pScales, k, pAcc, pTail, Math.fround(lo), Math.fround(hi));
      const acc = new Float64Array(buf, pAcc, 4 * k);
      const tail = new Float64Array(buf, pTail, k);
      for (let j = 0; j < k; j++) {
        const a = 4 * j;
        sums[j] = sums[j]! + ((acc[a]! + acc[a + 1]!) + (acc[a + 2]! + acc[a + 3]!) + tail[j]!);
      }
    },
  };
}
