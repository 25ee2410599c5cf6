/**
 * NumPy .npy format (versions 1.0, 2.0, 3.0), after numpy/lib/format.py: magic "\x93NUMPY",
 * major/minor version, little-endian header length (u16 in 1.0, u32 in 2.0/3.0), then a Python
 * dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }` padded with spaces
 * and a newline so that the data starts on a 64-byte boundary.
 */
import { DataError } from '../errors';
import { HARD_LIMITS } from '../limits';
import {
  BYTES_PER_ELEMENT, allocTyped, floatToHalf, fortranToC, viewTyped,
  type FeedData, type FeedType, type StoredType,
} from './dtype';

export interface NpyHeader {
  dtype: StoredType;
  littleEndian: boolean;
  fortranOrder: boolean;
  shape: number[];
  /** Byte offset of the payload from the start of the .npy bytes. */
  dataOffset: number;
  /** Payload size in bytes (elements × element size). */
  dataBytes: number;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const DESCR: Record<string, StoredType> = {
  f2: 'float16', f4: 'float32', f8: 'float64', i1: 'int8', u1: 'uint8', b1: 'bool',
  i2: 'int16', u2: 'uint16', i4: 'int32', u4: 'uint32', i8: 'int64',
};
const DESCR_OF: Record<StoredType, string> = {
  float16: '<f2', float32: '<f4', float64: '<f8', int8: '|i1', uint8: '|u1', bool: '|b1',
  int16: '<i2', uint16: '<u2', int32: '<i4', uint32: '<u4', int64: '<i8',
};

/** Bytes needed before the header text can be read: magic(6) + version(2) + length(2 or 4). */
export const NPY_PREAMBLE = 12;

/**
 * Length of the whole header (preamble + dict) from the first bytes, or throws.
 * `where` names the file for messages.
 */
export function npyHeaderLength(b: Uint8Array, where: string): number {
  if (b.length < 10 || MAGIC.some((m, i) => b[i] !== m)) {
    throw new DataError(`${where}: not a .npy file (no \\x93NUMPY magic${b.length < 10 ? '; file too short' : ''})`);
  }
  const major = b[6]!;
  if (major === 1) return 10 + (b[8]! | (b[9]! << 8));
  if (major === 2 || major === 3) {
    if (b.length < 12) throw new DataError(`${where}: truncated .npy header`);
    const total = 12 + ((b[8]! | (b[9]! << 8) | (b[10]! << 16)) + b[11]! * 0x1000000);
    // Bounded before anything is read or allocated for it.
    if (total > HARD_LIMITS.maxNpyHeaderBytes) throw new DataError(`${where}: .npy header claims ${total - 12} bytes; headers are at most ${HARD_LIMITS.maxNpyHeaderBytes} bytes (corrupt or not a .npy file)`);
    return total;
  }
  throw new DataError(`${where}: .npy format version ${major}.${b[7]} is not supported (expected 1.0, 2.0 or 3.0)`);
}

/** Parse the header from bytes holding at least npyHeaderLength(...) bytes. */
export function parseNpyHeader(b: Uint8Array, where: string): NpyHeader {
  const total = npyHeaderLength(b, where);
  if (b.length < total) throw new DataError(`${where}: truncated .npy header (${b.length} of ${total} bytes)`);
  const pre = b[6] === 1 ? 10 : 12;
  const text = Buffer.from(b.buffer, b.byteOffset + pre, total - pre).toString(b[6] === 3 ? 'utf8' : 'latin1');
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(text)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new DataError(`${where}: unreadable .npy header ${JSON.stringify(text.trim())} (expected 'descr', 'fortran_order' and 'shape'; structured dtypes are not supported)`);
  }
  const order = descr[0];
  const dtype = DESCR[descr.slice(1)];
  if (!dtype || !'<>|='.includes(order ?? '')) {
    throw new DataError(`${where}: .npy dtype '${descr}' is not supported (expected float16/32/64, int8/16/32/64, uint8/16/32 or bool)`);
  }
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => {
    const n = /^\d{1,16}L?$/.test(s) ? Number(s.replace(/L$/, '')) : NaN;
    if (!Number.isSafeInteger(n) || n < 0) throw new DataError(`${where}: bad .npy shape (${shapeText})`);
    return n;
  });
  if (shape.length > 32) throw new DataError(`${where}: .npy shape of rank ${shape.length}; at most 32 dims`);
  const elements = shape.reduce((a, d) => a * d, 1);
  if (!Number.isSafeInteger(elements * BYTES_PER_ELEMENT[dtype])) throw new DataError(`${where}: .npy shape (${shapeText}) is too large to be real`);
  return {
    dtype,
    littleEndian: order !== '>',
    fortranOrder: fortran === 'True',
    shape,
    dataOffset: total,
    dataBytes: elements * BYTES_PER_ELEMENT[dtype],
  };
}

/**
 * Decode the payload (bytes starting at the payload) into a C-ordered typed array of the stored
 * type. Copies only when needed: misaligned bytes, big-endian data, or Fortran order.
 */
export function decodeNpyPayload(payload: Uint8Array, h: NpyHeader, where: string): ReturnType<typeof allocTyped> {
  if (payload.length < h.dataBytes) {
    throw new DataError(`${where}: truncated .npy data (${payload.length} of ${h.dataBytes} bytes for shape [${h.shape.join(', ')}] ${h.dtype})`);
  }
  const size = BYTES_PER_ELEMENT[h.dtype];
  const n = h.dataBytes / size;
  let arr: ReturnType<typeof allocTyped>;
  if (!h.littleEndian && size > 1) {
    const copy = new Uint8Array(h.dataBytes);
    for (let i = 0; i < h.dataBytes; i += size) for (let k = 0; k < size; k++) copy[i + k] = payload[i + size - 1 - k]!;
    arr = viewTyped(h.dtype, copy.buffer, 0, n);
  } else if (payload.byteOffset % size === 0) {
    arr = viewTyped(h.dtype, payload.buffer, payload.byteOffset, n);
  } else {
    const copy = new Uint8Array(h.dataBytes); // (Buffer#slice would be a view, not a copy)
    copy.set(payload.subarray(0, h.dataBytes));
    arr = viewTyped(h.dtype, copy.buffer, 0, n);
  }
  return h.fortranOrder ? fortranToC(arr, h.shape) : arr;
}

/** Parse a whole .npy held in memory. */
export function readNpy(bytes: Uint8Array, where = '.npy'): { header: NpyHeader; data: ReturnType<typeof allocTyped> } {
  const header = parseNpyHeader(bytes, where);
  const data = decodeNpyPayload(bytes.subarray(header.dataOffset), header, where);
  return { header, data };
}

export interface WriteNpyOptions {
  /** Declare Fortran order in the header. `array` must already hold the elements in that order. */
  fortranOrder?: boolean;
  /** Write big-endian elements (for tests of byte-order handling). */
  bigEndian?: boolean;
}

/**
 * Encode an array as .npy (version 1.0, header padded to 64 bytes as numpy does).
 * `array` is a typed array of the dtype's kind (float16 as Uint16Array bits, bool as Uint8Array,
 * int64 as BigInt64Array) or any array of numbers, converted (float16 rounded to nearest even).
 */
export function writeNpy(
  array: ArrayLike<number> | ArrayLike<bigint> | FeedData,
  dims: readonly number[],
  dtype: FeedType | StoredType,
  opts: WriteNpyOptions = {},
): Uint8Array {
  const n = dims.reduce((a, d) => a * d, 1);
  if (array.length !== n) throw new Error(`writeNpy: ${array.length} elements do not fill shape [${dims.join(', ')}] (${n})`);
  const size = BYTES_PER_ELEMENT[dtype];
  let descr = DESCR_OF[dtype];
  if (opts.bigEndian && size > 1) descr = '>' + descr.slice(1);
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': ${opts.fortranOrder ? 'True' : 'False'}, 'shape': ${shape}, }`;
  const unpadded = 10 + dict.length + 1;
  dict += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + dict.length + n * size);
  out.set(MAGIC, 0);
  out[6] = 1; out[7] = 0;
  out[8] = dict.length & 0xff; out[9] = dict.length >> 8;
  out.set(Buffer.from(dict, 'latin1'), 10);
  const data = viewTyped(dtype, out.buffer, 10 + dict.length, n);
  const src = array as ArrayLike<number | bigint>;
  for (let i = 0; i < n; i++) {
    const v = src[i]!;
    if (dtype === 'int64') (data as BigInt64Array)[i] = typeof v === 'bigint' ? v : BigInt(Math.trunc(v));
    else if (dtype === 'float16' && !(array instanceof Uint16Array)) (data as Uint16Array)[i] = floatToHalf(Number(v));
    else if (dtype === 'bool') (data as Uint8Array)[i] = v ? 1 : 0;
    else (data as Float32Array)[i] = Number(v);
  }
  if (opts.bigEndian && size > 1) {
    const b = out.subarray(10 + dict.length);
    for (let i = 0; i < b.length; i += size) b.subarray(i, i + size).reverse();
  }
  return out;
}
