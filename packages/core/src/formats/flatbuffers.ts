/**
 * Just enough FlatBuffers for onnxruntime's calibration table schema
 * (`onnxruntime/python/tools/quantization/CalTableFlatBuffers`, `trt_cal_table.fbs`):
 *
 *   namespace CalTableFlatBuffers;
 *   table KeyValue { key:string (key); value:string; }
 *   table TrtTable { dict:[KeyValue]; }
 *
 * The builder lays bytes out the way the official `flatbuffers` Python builder does (built back
 * to front, the same alignment padding, identical vtables shared, no file identifier), so for
 * the same call sequence the output is byte-identical to what onnxruntime's
 * `write_calibration_table` produces. No dependency: the format is small and stable.
 */
import { TableError } from '../errors';

/** A back-to-front FlatBuffers builder (little-endian, 4-byte offsets, 2-byte vtable entries). */
class Builder {
  /** The buffer reversed: rev[0] is the last byte of the final buffer. */
  private readonly rev: number[] = [];
  private minalign = 1;
  private vtable: number[] | null = null;
  private objectEnd = 0;
  private readonly vtables = new Map<string, number>();
  private vectorCount = 0;

  offset(): number { return this.rev.length; }

  private pad(n: number): void { for (let i = 0; i < n; i++) this.rev.push(0); }

  /** Aligns so that a `size`-byte value written after `additional` more bytes is `size`-aligned. */
  private prep(size: number, additional: number): void {
    if (size > this.minalign) this.minalign = size;
    this.pad((-(this.rev.length + additional)) & (size - 1));
  }

  private placeU32(v: number): void {
    this.rev.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  }

  private placeU16(v: number): void { this.rev.push((v >>> 8) & 0xff, v & 0xff); }

  /** Overwrites the 4 bytes of a value that was written when offset() became `at`. */
  private writeI32At(at: number, v: number): void {
    for (let k = 0; k < 4; k++) this.rev[at - 1 - k] = (v >> (8 * k)) & 0xff;
  }

  /** A UTF-8 string: u32 length, bytes, a NUL, padded to 4. Returns its offset. */
  createString(s: string): number {
    const bytes = Buffer.from(s, 'utf8');
    this.prep(4, bytes.length + 1);
    this.rev.push(0);
    for (let i = bytes.length - 1; i >= 0; i--) this.rev.push(bytes[i]!);
    this.placeU32(bytes.length);
    return this.offset();
  }

  /** An offset to something already written, relative to where it is stored. */
  prependOffset(target: number): void {
    this.prep(4, 0);
    this.placeU32(this.offset() - target + 4);
  }

  startVector(count: number): void {
    this.prep(4, 4 * count);
    this.vectorCount = count;
  }

  endVector(): number {
    this.placeU32(this.vectorCount);
    return this.offset();
  }

  startObject(fields: number): void {
    this.vtable = new Array<number>(fields).fill(0);
    this.objectEnd = this.offset();
  }

  /** Adds an offset field (always written: an offset is never the default 0). */
  addOffsetField(slot: number, target: number): void {
    this.prependOffset(target);
    this.vtable![slot] = this.offset();
  }

  endObject(): number {
    const fields = this.vtable!;
    this.prep(4, 0);
    this.placeU32(0); // soffset to the vtable, patched below
    const objectOffset = this.offset();
    let last = fields.length - 1;
    while (last >= 0 && fields[last] === 0) last--;
    const entries = fields.slice(0, last + 1).map((f) => (f === 0 ? 0 : objectOffset - f));
    const objectSize = objectOffset - this.objectEnd;
    const key = `${entries.join(',')}|${objectSize}`;
    const existing = this.vtables.get(key);
    if (existing === undefined) {
      for (let i = entries.length - 1; i >= 0; i--) { this.prep(2, 0); this.placeU16(entries[i]!); }
      this.prep(2, 0); this.placeU16(objectSize);
      this.prep(2, 0); this.placeU16((entries.length + 2) * 2);
      this.writeI32At(objectOffset, this.offset() - objectOffset);
      this.vtables.set(key, this.offset());
    } else {
      this.writeI32At(objectOffset, existing - objectOffset);
    }
    this.vtable = null;
    return objectOffset;
  }

  finish(root: number): Uint8Array {
    this.prep(this.minalign, 4);
    this.prependOffset(root);
    return Uint8Array.from(this.rev.slice().reverse());
  }
}

/**
 * Serializes a `TrtTable` exactly as onnxruntime's `write_calibration_table` does: one
 * `KeyValue` per entry in the order given (onnxruntime passes its keys sorted), then the
 * `dict` vector filled by prepending those offsets in the same order, which leaves the
 * vector itself in reverse order. Readers look keys up by name, so order is not significant.
 */
export function encodeTrtTable(entries: readonly (readonly [string, string])[]): Uint8Array {
  const b = new Builder();
  const kvs: number[] = [];
  for (const [key, value] of entries) {
    const k = b.createString(key);
    const v = b.createString(value);
    b.startObject(2);
    b.addOffsetField(0, k);
    b.addOffsetField(1, v);
    kvs.push(b.endObject());
  }
  b.startVector(kvs.length);
  for (const kv of kvs) b.prependOffset(kv);
  const dict = b.endVector();
  b.startObject(1);
  b.addOffsetField(0, dict);
  return b.finish(b.endObject());
}

/**
 * Reads a `TrtTable` buffer into its `[key, value]` pairs in vector order. Every offset is
 * bounds-checked; a buffer that is not a TrtTable gives a {@link TableError} naming `where`.
 */
export function decodeTrtTable(buf: Uint8Array, where: string): [string, string][] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const fail = (what: string): never => {
    throw new TableError(`${where}: not a valid onnxruntime calibration.flatbuffers (TrtTable): ${what}`);
  };
  const u32 = (at: number): number => (at >= 0 && at + 4 <= buf.length ? view.getUint32(at, true) : fail(`offset ${at} is outside the ${buf.length}-byte buffer`));
  const u16 = (at: number): number => (at >= 0 && at + 2 <= buf.length ? view.getUint16(at, true) : fail(`offset ${at} is outside the ${buf.length}-byte buffer`));
  /** Position of field `slot` of the table at `table`, or undefined when absent. */
  const field = (table: number, slot: number): number | undefined => {
    u32(table);
    const vt = table - view.getInt32(table, true);
    const vtSize = u16(vt);
    if (vtSize < 4 || vtSize % 2 !== 0) fail(`vtable at ${vt} has size ${vtSize}`);
    const entry = 4 + 2 * slot;
    if (entry + 2 > vtSize) return undefined;
    const off = u16(vt + entry);
    return off === 0 ? undefined : table + off;
  };
  const deref = (at: number): number => at + u32(at);
  const str = (at: number): string => {
    const p = deref(at);
    const len = u32(p);
    if (p + 4 + len > buf.length) fail(`string at ${p} of length ${len} runs past the end`);
    return Buffer.from(buf.subarray(p + 4, p + 4 + len)).toString('utf8');
  };
  if (buf.length < 8) fail(`only ${buf.length} bytes`);
  const root = deref(0);
  const dictField = field(root, 0);
  if (dictField === undefined) return [];
  const vec = deref(dictField);
  const n = u32(vec);
  if (vec + 4 + 4 * n > buf.length) fail(`dict vector of ${n} entries runs past the end`);
  const out: [string, string][] = [];
  for (let i = 0; i < n; i++) {
    const kv = deref(vec + 4 + 4 * i);
    const k = field(kv, 0);
    const v = field(kv, 1);
    if (k === undefined || v === undefined) fail(`dict entry ${i} has no ${k === undefined ? 'key' : 'value'}`);
    out.push([str(k!), str(v!)]);
  }
  return out;
}
