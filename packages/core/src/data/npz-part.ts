import * as zlib from 'node:zlib';
import { DataError, messageOf } from '../errors';
import { HARD_LIMITS } from '../limits';
import { convertTyped, type FeedType } from './dtype';
import { readRange } from './file-io';
import { decodeNpyPayload, npyHeaderLength, parseNpyHeader, type NpyHeader } from './npy';
import { crc32 } from './npz-write';
import type { Part } from './part';
import { memberDataOffset, readZipDirectory, type ZipEntry } from './zip';

/**
 * Inflates only the first `want` bytes of a deflated member (enough for the .npy header): the
 * output is cut there however far the compressed bytes would inflate.
 */
function inflatePrefix(compressed: Uint8Array, want: number, where: string): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const z = zlib.createInflateRaw({ finishFlush: zlib.constants.Z_SYNC_FLUSH });
    const chunks: Buffer[] = [];
    let got = 0;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      z.destroy();
      const all = Buffer.concat(chunks);
      resolve(all.subarray(0, Math.min(all.length, want)));
    };
    z.on('data', (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      if (got >= want) finish();
    });
    z.on('end', finish);
    z.on('error', (err) => {
      if (done) return;
      done = true;
      // Garbage after what we need is not an error for a prefix; garbage before it is.
      if (got >= want) resolve(Buffer.concat(chunks).subarray(0, want));
      else reject(new DataError(`${where}: corrupt deflate data (${messageOf(err)})`, { cause: err }));
    });
    z.end(compressed);
  });
}

async function memberHeader(file: string, e: ZipEntry, dataOffset: number, where: string): Promise<NpyHeader> {
  const read = async (n: number): Promise<Uint8Array> => {
    if (e.method === 0) return readRange(file, dataOffset, Math.min(n, e.compressedSize));
    // Deflate rarely expands a header more than ~2x; read generously and inflate what we need of it.
    return inflatePrefix(await readRange(file, dataOffset, Math.min(e.compressedSize, 2 * n + 1024)), n, where);
  };
  let head = await read(256);
  const total = npyHeaderLength(head, where);
  if (total > e.size) throw new DataError(`${where}: truncated member: the zip directory says ${e.size} bytes, its .npy header claims ${total}`);
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
    const need = h.dataOffset + h.dataBytes;
    if (e.size < need) throw new DataError(`${where}: truncated member: ${e.size} bytes, expected ${need} for shape [${h.shape.join(', ')}] ${h.dtype}`);
    if (e.size > need) throw new DataError(`${where}: the zip directory says ${e.size} bytes, but shape [${h.shape.join(', ')}] ${h.dtype} takes ${need} (corrupt .npz)`);
    if (e.method === 0 && e.compressedSize !== e.size) throw new DataError(`${where}: stored member of ${e.compressedSize} bytes, the zip directory says ${e.size} (corrupt .npz)`);
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
            // Never more than the directory (checked against the header) says: a member that
            // inflates beyond it is refused at that size, not after filling memory.
            bytes = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(1, e.size) });
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
              throw new DataError(`${where}: inflates to more than the ${e.size} bytes the zip directory says (corrupt or malicious .npz)`, { cause: err });
            }
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
