import * as zlib from 'node:zlib';
import { DataError, messageOf } from '../errors';
import { convertTyped, type FeedType } from './dtype';
import { readRange } from './file-io';
import { decodeNpyPayload, npyHeaderLength, parseNpyHeader, type NpyHeader } from './npy';
import { crc32 } from './npz-write';
import type { Part } from './part';
import { memberDataOffset, readZipDirectory, type ZipEntry } from './zip';

/** Inflate only the beginning of a deflated member (enough for the .npy header). */
function inflatePrefix(compressed: Uint8Array, where: string): Uint8Array {
  try {
    return zlib.inflateRawSync(compressed, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  } catch (err) {
    throw new DataError(`${where}: corrupt deflate data (${messageOf(err)})`, { cause: err });
  }
}

async function memberHeader(file: string, e: ZipEntry, dataOffset: number, where: string): Promise<NpyHeader> {
  const read = async (n: number): Promise<Uint8Array> => {
    if (e.method === 0) return readRange(file, dataOffset, Math.min(n, e.compressedSize));
    // Deflate rarely expands a header more than ~2x; read generously and inflate what we got.
    return inflatePrefix(await readRange(file, dataOffset, Math.min(e.compressedSize, 2 * n + 1024)), where);
  };
  let head = await read(256);
  const total = npyHeaderLength(head, where);
  if (total > head.length) head = await read(total);
  return parseNpyHeader(head, where);
}

/**
 * An .npz (numpy savez / savez_compressed): member `name.npy` feeds input `name`. Reads the
 * central directory and each member's .npy header now; payloads when the batch is loaded.
 */
export async function npzParts(file: string, fileSize: number): Promise<Record<string, Part>> {
  const entries = await readZipDirectory(file, fileSize);
  const parts: Record<string, Part> = {};
  for (const e of entries) {
    if (e.name.endsWith('/')) continue;
    const where = `${file}[${e.name}]`;
    if (!e.name.endsWith('.npy')) throw new DataError(`${where}: .npz members must be .npy arrays`);
    if (e.method !== 0 && e.method !== 8) throw new DataError(`${where}: zip compression method ${e.method} is not supported (expected stored or deflated, as numpy writes)`);
    const dataOffset = await memberDataOffset(file, e);
    if (dataOffset + e.compressedSize > fileSize) throw new DataError(`${where}: truncated .npz file (member ends at ${dataOffset + e.compressedSize}, file has ${fileSize} bytes)`);
    const h = await memberHeader(file, e, dataOffset, where);
    if (e.size < h.dataOffset + h.dataBytes) throw new DataError(`${where}: truncated member: ${e.size} bytes, expected ${h.dataOffset + h.dataBytes} for shape [${h.shape.join(', ')}] ${h.dtype}`);
    const name = e.name.slice(0, -4);
    parts[name] = {
      file,
      label: `${file}[${name}]`,
      dims: h.shape,
      type: h.dtype,
      async load(target: FeedType) {
        const raw = await readRange(file, dataOffset, e.compressedSize);
        let bytes: Uint8Array;
        if (e.method === 0) bytes = raw;
        else {
          try {
            bytes = zlib.inflateRawSync(raw);
          } catch (err) {
            throw new DataError(`${where}: corrupt deflate data (${messageOf(err)})`, { cause: err });
          }
        }
        if (bytes.length !== e.size) throw new DataError(`${where}: member holds ${bytes.length} bytes, the zip directory says ${e.size}`);
        if (crc32(bytes) !== e.crc32) throw new DataError(`${where}: CRC mismatch (corrupt .npz)`);
        const arr = decodeNpyPayload(bytes.subarray(h.dataOffset), h, where);
        return convertTyped(arr, h.dtype, target);
      },
    };
  }
  if (Object.keys(parts).length === 0) throw new DataError(`${file}: empty .npz (no .npy members)`);
  return parts;
}
