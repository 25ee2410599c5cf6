import type { FeedTensor } from '../tensor';

/** Element types a FeedTensor can carry. */
export type FeedType = FeedTensor['type'];
/** Element types the readers understand in a file (a superset: narrow ints widen losslessly). */
export type StoredType = FeedType | 'int16' | 'uint16' | 'uint32';
export type FeedData = FeedTensor['data'];

export const FEED_TYPES: readonly FeedType[] = ['float32', 'float16', 'float64', 'int8', 'uint8', 'int32', 'int64', 'bool'];

export function isFeedType(t: string): t is FeedType {
  return (FEED_TYPES as readonly string[]).includes(t);
}

export const BYTES_PER_ELEMENT: Record<StoredType, number> = {
  float16: 2, float32: 4, float64: 8, int8: 1, uint8: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, int64: 8, bool: 1,
};

const FLOATS = new Set<StoredType>(['float16', 'float32', 'float64']);

/**
 * Which stored types convert to which feed types without losing information, decided on the
 * types alone so the check runs on headers before any payload is read. Float→float is allowed
 * in every direction (as the issue asks: calibration data is float anyway); float→int never;
 * int→int and int→float only when every value of the source type is representable.
 */
const LOSSLESS: Record<StoredType, readonly FeedType[]> = {
  float16: ['float16', 'float32', 'float64'],
  float32: ['float16', 'float32', 'float64'],
  float64: ['float16', 'float32', 'float64'],
  bool: ['bool', 'int8', 'uint8', 'int32', 'int64', 'float16', 'float32', 'float64'],
  uint8: ['uint8', 'int32', 'int64', 'float16', 'float32', 'float64'],
  int8: ['int8', 'int32', 'int64', 'float16', 'float32', 'float64'],
  int16: ['int32', 'int64', 'float32', 'float64'],
  uint16: ['int32', 'int64', 'float32', 'float64'],
  int32: ['int32', 'int64', 'float64'],
  uint32: ['int64', 'float64'],
  int64: ['int64'],
};

export function canConvert(from: StoredType, to: FeedType): boolean {
  return LOSSLESS[from].includes(to);
}

export function isFloat(t: StoredType): boolean {
  return FLOATS.has(t);
}

type AnyTyped = FeedData | Int16Array | Uint32Array;

/** Allocate a typed array for a stored type (float16 as raw Uint16 bits, bool as Uint8). */
export function allocTyped(t: StoredType, n: number): AnyTyped {
  switch (t) {
    case 'float32': return new Float32Array(n);
    case 'float64': return new Float64Array(n);
    case 'float16': case 'uint16': return new Uint16Array(n);
    case 'int8': return new Int8Array(n);
    case 'uint8': case 'bool': return new Uint8Array(n);
    case 'int16': return new Int16Array(n);
    case 'int32': return new Int32Array(n);
    case 'uint32': return new Uint32Array(n);
    case 'int64': return new BigInt64Array(n);
  }
}

/** View `n` elements of type t over bytes (must be aligned). */
export function viewTyped(t: StoredType, buf: ArrayBufferLike, byteOffset: number, n: number): AnyTyped {
  switch (t) {
    case 'float32': return new Float32Array(buf, byteOffset, n);
    case 'float64': return new Float64Array(buf, byteOffset, n);
    case 'float16': case 'uint16': return new Uint16Array(buf, byteOffset, n);
    case 'int8': return new Int8Array(buf, byteOffset, n);
    case 'uint8': case 'bool': return new Uint8Array(buf, byteOffset, n);
    case 'int16': return new Int16Array(buf, byteOffset, n);
    case 'int32': return new Int32Array(buf, byteOffset, n);
    case 'uint32': return new Uint32Array(buf, byteOffset, n);
    case 'int64': return new BigInt64Array(buf, byteOffset, n);
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half (bits) → number. Exact. */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** number → IEEE half bits, round to nearest even (as numpy's astype(float16)); overflow → ±Inf. */
export function floatToHalf(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = mant >> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && (r & 1))) r++;
    return sign | r;
  }
  let r = mant >> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (r & 1))) {
    r++;
    if (r === 0x400) { r = 0; e++; if (e >= 31) return sign | 0x7c00; }
  }
  return sign | (e << 10) | r;
}

/**
 * Convert a decoded array of stored type `from` to feed type `to` (caller checked canConvert).
 * Returns the same array when no conversion is needed.
 */
export function convertTyped(src: AnyTyped, from: StoredType, to: FeedType): FeedData {
  if (from === to) return src as FeedData;
  const n = src.length;
  const out = allocTyped(to, n) as FeedData;
  if (to === 'int64') {
    const o = out as BigInt64Array;
    for (let i = 0; i < n; i++) o[i] = BigInt(src[i] as number);
    return out;
  }
  const get: (i: number) => number =
    from === 'float16' ? (i) => halfToFloat(src[i] as number) : (i) => src[i] as number;
  if (to === 'float16') {
    const o = out as Uint16Array;
    for (let i = 0; i < n; i++) o[i] = floatToHalf(get(i));
    return out;
  }
  if (to === 'bool') {
    const o = out as Uint8Array;
    for (let i = 0; i < n; i++) o[i] = get(i) ? 1 : 0;
    return out;
  }
  const o = out as Float32Array;
  for (let i = 0; i < n; i++) o[i] = get(i);
  return out;
}

/** Permute Fortran-ordered elements into C order (a copy). */
export function fortranToC<T extends AnyTyped>(src: T, shape: readonly number[]): T {
  const rank = shape.length;
  if (rank <= 1) return src;
  const n = src.length;
  const out = allocTyped0(src, n) as T;
  // Fortran strides: stride[0] = 1, stride[k] = stride[k-1] * shape[k-1]
  const fstride: number[] = new Array<number>(rank);
  let s = 1;
  for (let k = 0; k < rank; k++) { fstride[k] = s; s *= shape[k]!; }
  const idx = new Array<number>(rank).fill(0);
  let f = 0;
  for (let c = 0; c < n; c++) {
    (out as unknown as number[])[c] = (src as unknown as number[])[f]!;
    // increment C index (last dim fastest) and keep the Fortran offset in step
    for (let k = rank - 1; k >= 0; k--) {
      idx[k]!++;
      f += fstride[k]!;
      if (idx[k]! < shape[k]!) break;
      f -= fstride[k]! * shape[k]!;
      idx[k] = 0;
    }
  }
  return out;
}

function allocTyped0(like: AnyTyped, n: number): AnyTyped {
  const C = like.constructor as new (n: number) => AnyTyped;
  return new C(n);
}
