/** Typed arrays as JSON-safe values, for collector snapshots. Lossless (raw little-endian bytes, base64). */
export interface EncodedArray {
  dtype: 'float64' | 'float32' | 'int32' | 'uint32';
  length: number;
  base64: string;
}

type Encodable = Float64Array | Float32Array | Int32Array | Uint32Array;

export function encodeArray(a: Encodable): EncodedArray {
  const dtype = a instanceof Float64Array ? 'float64' : a instanceof Float32Array ? 'float32' : a instanceof Int32Array ? 'int32' : 'uint32';
  return { dtype, length: a.length, base64: Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64') };
}

export function decodeArray(e: EncodedArray): Float64Array | Float32Array | Int32Array | Uint32Array {
  const buf = Buffer.from(e.base64, 'base64');
  const copy = new ArrayBuffer(buf.byteLength);
  new Uint8Array(copy).set(buf);
  const out = e.dtype === 'float64' ? new Float64Array(copy) : e.dtype === 'float32' ? new Float32Array(copy) : e.dtype === 'int32' ? new Int32Array(copy) : new Uint32Array(copy);
  if (out.length !== e.length) throw new Error(`encoded ${e.dtype} array: expected ${e.length} elements, decoded ${out.length}`);
  return out;
}

export function decodeFloat64(e: EncodedArray): Float64Array {
  const a = decodeArray(e);
  return a instanceof Float64Array ? a : Float64Array.from(a);
}
