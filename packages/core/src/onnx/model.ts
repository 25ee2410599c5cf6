import * as fs from 'node:fs';
import * as protobuf from 'protobufjs';
import { ModelError } from '../errors';
import { HARD_LIMITS } from '../limits';
import { ONNX_SCHEMA } from './schema';
import { halfToFloat } from '../data/dtype';
import { isExternal, readExternal, resolveExternalData } from './external-data';

/** int64 fields arrive as Long (protobufjs) or number; see {@link toNumber}. */
export type Int64 = number | { toNumber(): number; toString(): string };

export interface OnnxDimension { dimValue?: Int64 | null; dimParam?: string | null; denotation?: string }
export interface OnnxTypeProto {
  tensorType?: { elemType?: number; shape?: { dim?: OnnxDimension[] } | null } | null;
  [other: string]: unknown;
}
export interface OnnxValueInfo { name: string; type?: OnnxTypeProto | null; docString?: string }
export interface OnnxTensor {
  name?: string;
  dims?: Int64[];
  dataType?: number;
  rawData?: Uint8Array | null;
  floatData?: number[];
  int32Data?: number[];
  int64Data?: Int64[];
  doubleData?: number[];
  uint64Data?: Int64[];
  stringData?: Uint8Array[];
  externalData?: { key: string; value: string }[];
  dataLocation?: number;
}
export interface OnnxAttribute {
  name: string;
  type?: number;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  t?: OnnxTensor | null;
  g?: OnnxGraph | null;
  floats?: number[];
  ints?: Int64[];
  strings?: Uint8Array[];
  tensors?: OnnxTensor[];
  graphs?: OnnxGraph[];
}
export interface OnnxNode {
  input: string[];
  output: string[];
  name?: string;
  opType: string;
  domain?: string;
  attribute: OnnxAttribute[];
  docString?: string;
}
export interface OnnxGraph {
  node: OnnxNode[];
  name?: string;
  initializer: OnnxTensor[];
  input: OnnxValueInfo[];
  output: OnnxValueInfo[];
  valueInfo: OnnxValueInfo[];
  [other: string]: unknown;
}
export interface OnnxModel {
  irVersion?: Int64;
  opsetImport: { domain?: string; version?: Int64 }[];
  producerName?: string;
  producerVersion?: string;
  graph?: OnnxGraph | null;
  metadataProps?: { key: string; value: string }[];
  [other: string]: unknown;
}

/** ONNX TensorProto.DataType values. */
export const DataType = {
  UNDEFINED: 0, FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
  FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15, BFLOAT16: 16,
} as const;

/** AttributeProto.AttributeType values. */
export const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

let root: protobuf.Root | undefined;
function modelType(): protobuf.Type {
  root ??= protobuf.Root.fromJSON(ONNX_SCHEMA as protobuf.INamespace);
  return root.lookupType('onnx.ModelProto');
}

/** Converts an int64 field value (Long or number) to a JS number. */
export function toNumber(v: Int64 | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

/** Decodes ONNX model bytes; `where` names the file in errors. */
export function decodeModel(bytes: Uint8Array, where = 'model'): OnnxModel {
  let model: OnnxModel;
  try {
    model = modelType().decode(bytes) as unknown as OnnxModel;
  } catch (err) {
    throw new ModelError(`${where}: not a readable ONNX model (${(err as Error).message}); expected an ONNX ModelProto file (.onnx)`, { cause: err });
  }
  const g = model.graph;
  if (!g || !Array.isArray(g.node) || g.node.length === 0 || !model.opsetImport?.length) {
    throw new ModelError(`${where}: not an ONNX model: no graph nodes or no opset import found; expected an ONNX ModelProto file (.onnx), possibly truncated`);
  }
  return model;
}

/** Reads and decodes an ONNX model file, with clear errors for a missing or malformed file. */
export function loadModel(file: string): { model: OnnxModel; bytes: Uint8Array } {
  let bytes: Uint8Array;
  try {
    // A device (/dev/zero), a FIFO or a directory would never end or never fit: regular files only, bounded.
    const st = fs.statSync(file);
    if (!st.isFile()) throw new ModelError(`${file}: not a regular file (${st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : 'a special file'}); expected an .onnx model file`);
    if (st.size > HARD_LIMITS.maxModelBytes) throw new ModelError(`${file}: ${st.size} bytes; an ONNX model file is a protobuf message of at most 2 GiB (keep larger weights as external data)`);
    if (st.size === 0) throw new ModelError(`${file}: empty file; expected an .onnx model`);
    bytes = fs.readFileSync(file);
  } catch (err) {
    if (err instanceof ModelError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new ModelError(`${file}: cannot read the model file (${code === 'ENOENT' ? 'no such file' : code ?? (err as Error).message}); expected a path to an .onnx file`, { cause: err });
  }
  const model = decodeModel(bytes, file);
  fileBytes.set(model, bytes);
  // Weights in external data files stay there (checked now, read only where needed).
  resolveExternalData(model, file);
  return { model, bytes };
}

/** Encodes a (possibly edited) model back to bytes. */
export function encodeModel(model: OnnxModel): Uint8Array {
  const type = modelType();
  return type.encode(type.fromObject(model as unknown as Record<string, unknown>)).finish();
}

/** The file bytes a model of `loadModel` was decoded from (ours: never changed), for encodeEditedModel. */
const fileBytes = new WeakMap<OnnxModel, Uint8Array>();

/** One field of a protobuf message: its number, wire type, and where it sits (tag included). */
interface WireField { field: number; wire: number; start: number; payload: number; end: number }

/** The top-level fields of the protobuf message in bytes[from, to), in order; undefined when not well-formed (or with groups). */
function wireFields(bytes: Uint8Array, from: number, to: number): WireField[] | undefined {
  const out: WireField[] = [];
  let p = from;
  const varint = (): number | undefined => {
    let v = 0;
    for (let shift = 0; p < to && shift < 64; shift += 7) {
      const b = bytes[p++]!;
      // (Lengths and tags fit 2^53; larger varints are only skipped.)
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
    return undefined;
  };
  while (p < to) {
    const start = p;
    const tag = varint();
    if (tag === undefined) return undefined;
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) { if (varint() === undefined) return undefined; out.push({ field, wire, start, payload: p, end: p }); continue; }
    let len: number | undefined;
    if (wire === 1) len = 8;
    else if (wire === 5) len = 4;
    else if (wire === 2) len = varint();
    if (len === undefined || p + len > to) return undefined;
    out.push({ field, wire, start, payload: p, end: p + len });
    p += len;
  }
  return out;
}

/**
 * `encodeModel(edited)`, for a model made from one `loadModel` read (`original`) by adding,
 * removing or reordering graph nodes and changing other fields: the nodes it kept as they were
 * (the same objects) are copied as bytes from the file instead of being encoded again (a model
 * whose weights are Constant nodes, e.g. PP-OCR's, is mostly such bytes: the instrumented
 * recognizer encodes in ~5 ms of copying instead of 30–60 ms). The same message: one graph field,
 * its nodes in `edited`'s order, then its other fields as encodeModel writes them. Falls back to
 * encodeModel when `original` was not read by loadModel or its file's layout is unusual.
 */
export function encodeEditedModel(edited: OnnxModel, original: OnnxModel): Uint8Array {
  const bytes = fileBytes.get(original);
  const nodes = edited.graph?.node;
  const fallback = (): Uint8Array => encodeModel(edited);
  if (!bytes || !nodes || !original.graph) return fallback();
  const top = wireFields(bytes, 0, bytes.length);
  const graphs = top?.filter((f) => f.field === 7);
  if (!graphs || graphs.length !== 1 || graphs[0]!.wire !== 2) return fallback();
  const kept = wireFields(bytes, graphs[0]!.payload, graphs[0]!.end)?.filter((f) => f.field === 1);
  if (!kept || kept.some((f) => f.wire !== 2) || kept.length !== original.graph.node.length) return fallback();
  const at = new Map<OnnxNode, WireField>();
  original.graph.node.forEach((n, i) => at.set(n, kept[i]!));
  // The new nodes, encoded together as a graph of nodes only: its fields are their entries.
  const fresh = nodes.filter((n) => !at.has(n));
  if (fresh.length === nodes.length) return fallback();
  const graphType = modelType().lookupType('onnx.GraphProto');
  const freshBytes = graphType.encode(graphType.fromObject({ node: fresh })).finish();
  const freshFields = wireFields(freshBytes, 0, freshBytes.length);
  if (!freshFields || freshFields.length !== fresh.length) return fallback();
  // Everything else as encodeModel writes it (the graph without nodes), the nodes then go first in its graph.
  const rest = encodeModel({ ...edited, graph: { ...edited.graph!, node: [] } });
  const restTop = wireFields(rest, 0, rest.length);
  const g = restTop?.filter((f) => f.field === 7);
  if (!g || g.length !== 1) return fallback();
  const graph = g[0]!;
  const pieces: Uint8Array[] = [];
  let k = 0;
  for (const n of nodes) {
    const f = at.get(n);
    pieces.push(f ? bytes.subarray(f.start, f.end) : freshBytes.subarray(freshFields[k]!.start, freshFields[k++]!.end));
  }
  pieces.push(rest.subarray(graph.payload, graph.end));
  const payload = pieces.reduce((a, b) => a + b.length, 0);
  const head: number[] = [0x3a];
  for (let v = payload; ; v = Math.floor(v / 128)) { if (v < 128) { head.push(v); break; } head.push((v % 128) | 0x80); }
  const before = rest.subarray(0, graph.start);
  const after = rest.subarray(graph.end);
  const out = new Uint8Array(before.length + head.length + payload + after.length);
  let p = 0;
  for (const piece of [before, Uint8Array.from(head), ...pieces, after]) { out.set(piece, p); p += piece.length; }
  return out;
}

/** The model's default-domain opset version. */
export function opsetVersion(model: OnnxModel): number {
  const e = model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx');
  return e ? toNumber(e.version) : 0;
}

/** Finds an attribute by name. */
export function getAttribute(node: OnnxNode, name: string): OnnxAttribute | undefined {
  return node.attribute?.find((a) => a.name === name);
}

/** An int attribute (or `fallback`). */
export function attrInt(node: OnnxNode, name: string, fallback: number): number {
  const a = getAttribute(node, name);
  return a && a.i !== undefined && a.i !== null ? toNumber(a.i) : fallback;
}

/** An ints attribute (or undefined). */
export function attrInts(node: OnnxNode, name: string): number[] | undefined {
  const a = getAttribute(node, name);
  return a?.ints && a.ints.length ? a.ints.map(toNumber) : undefined;
}

/** A float attribute (or `fallback`). */
export function attrFloat(node: OnnxNode, name: string, fallback: number): number {
  const a = getAttribute(node, name);
  return a && typeof a.f === 'number' ? a.f : fallback;
}

/** A string attribute (or `fallback`). */
export function attrString(node: OnnxNode, name: string, fallback: string): string {
  const a = getAttribute(node, name);
  return a?.s && a.s.length ? Buffer.from(a.s).toString('utf8') : fallback;
}

/** The dims of a TensorProto as numbers. */
export function tensorDims(t: OnnxTensor): number[] {
  return (t.dims ?? []).map(toNumber);
}

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/**
 * The values of a float or integer TensorProto as a Float32Array/Float64Array-compatible number
 * array (copied: raw_data views are often unaligned). int64 values beyond 2^53 lose precision.
 */
export function tensorToFloat32(t: OnnxTensor, where = t.name ?? 'tensor'): Float32Array {
  const n = tensorDims(t).reduce((a, b) => a * b, 1);
  const dt = t.dataType ?? 0;
  const raw = isExternal(t) ? readExternal(t, where) : t.rawData && t.rawData.length ? t.rawData : undefined;
  const out = new Float32Array(n);
  if (raw) {
    const buf = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    const size = ({ 1: 4, 2: 1, 3: 1, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 4: 2, 12: 4, 13: 8 } as Record<number, number>)[dt];
    if (size === undefined) throw new ModelError(`${where}: unsupported tensor data type ${dt}`);
    if (buf.length < n * size) throw new ModelError(`${where}: raw_data holds ${buf.length} bytes, expected ${n * size}`);
    // float32 on a little-endian machine (raw_data is little-endian): the bytes as they are.
    if (dt === 1 && LITTLE_ENDIAN) { new Uint8Array(out.buffer).set(raw.subarray(0, n * 4)); return out; }
    for (let i = 0; i < n; i++) {
      const o = i * size;
      switch (dt) {
        case 1: out[i] = buf.readFloatLE(o); break;
        case 2: out[i] = buf.readUInt8(o); break;
        case 3: out[i] = buf.readInt8(o); break;
        case 4: out[i] = buf.readUInt16LE(o); break;
        case 5: out[i] = buf.readInt16LE(o); break;
        case 6: out[i] = buf.readInt32LE(o); break;
        case 7: out[i] = Number(buf.readBigInt64LE(o)); break;
        case 9: out[i] = buf.readUInt8(o); break;
        case 10: out[i] = halfToFloat(buf.readUInt16LE(o)); break;
        case 11: out[i] = buf.readDoubleLE(o); break;
        case 12: out[i] = buf.readUInt32LE(o); break;
        case 13: out[i] = Number(buf.readBigUInt64LE(o)); break;
      }
    }
    return out;
  }
  const src: ArrayLike<number | Int64> | undefined =
    dt === 1 ? t.floatData : dt === 11 ? t.doubleData : dt === 7 ? t.int64Data : dt === 13 ? t.uint64Data : t.int32Data;
  if (!src || src.length < n) {
    if (n === 0) return out;
    throw new ModelError(`${where}: tensor holds ${src?.length ?? 0} values, expected ${n}`);
  }
  for (let i = 0; i < n; i++) {
    const v = src[i]!;
    out[i] = dt === 10 ? halfToFloat(v as number) : toNumber(v as Int64);
  }
  return out;
}

/** A float32 TensorProto with raw_data. */
export function makeFloatTensor(name: string, dims: readonly number[], values: ArrayLike<number>): OnnxTensor {
  // (A Float32Array is copied as it is: the same values, without an element-by-element conversion.)
  const f = values instanceof Float32Array ? values.slice() : Float32Array.from(values as ArrayLike<number>);
  return { name, dims: [...dims], dataType: DataType.FLOAT, rawData: new Uint8Array(f.buffer) };
}

/**
 * A float TensorProto whose raw_data is a view of `values` (no copy; the caller must not change
 * them): for structure-only work on a model (placeholder constants of the right shape).
 */
export function placeholderTensor(name: string, dims: readonly number[], values: Float32Array): OnnxTensor {
  return { name, dims: [...dims], dataType: DataType.FLOAT, rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

/** An integer TensorProto (int8, uint8, int32) with raw_data. */
export function makeIntTensor(name: string, dims: readonly number[], dataType: 2 | 3 | 5 | 6 | 7, values: ArrayLike<number>): OnnxTensor {
  let bytes: Uint8Array;
  if (dataType === DataType.INT8) bytes = new Uint8Array(Int8Array.from(values).buffer);
  else if (dataType === DataType.INT16) bytes = new Uint8Array(Int16Array.from(values).buffer);
  else if (dataType === DataType.UINT8) bytes = Uint8Array.from(values);
  else if (dataType === DataType.INT32) bytes = new Uint8Array(Int32Array.from(values).buffer);
  else bytes = new Uint8Array(BigInt64Array.from(Array.from(values, (v) => BigInt(Math.round(v)))).buffer);
  return { name, dims: [...dims], dataType, rawData: bytes };
}
