/**
 * A minimal reader of ZIP central directories (PKWARE APPNOTE 4.3.16 / 4.3.12 / 4.5.3), enough
 * for .npz files as numpy writes them: stored (method 0) and deflated (method 8) members, and
 * ZIP64 (numpy's savez passes force_zip64=True). Members are read one at a time, on demand.
 * Written here rather than taken from a zip library: ~100 lines, and Node's zlib does the inflating.
 */
import { DataError } from '../errors';
import { readRange } from './file-io';

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  crc32: number;
  localHeaderOffset: number;
}

const u16 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8);
const u32 = (b: Uint8Array, o: number): number => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;
const u64 = (b: Uint8Array, o: number): number => u32(b, o) + u32(b, o + 4) * 0x100000000;

/** List the members of a zip file from its central directory. */
export async function readZipDirectory(file: string, fileSize: number): Promise<ZipEntry[]> {
  const tailLen = Math.min(fileSize, 22 + 0xffff + 20);
  const tailStart = fileSize - tailLen;
  const tail = await readRange(file, tailStart, tailLen);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail[i] === 0x50 && tail[i + 1] === 0x4b && tail[i + 2] === 0x05 && tail[i + 3] === 0x06) { eocd = i; break; }
  }
  if (eocd < 0) throw new DataError(`${file}: not a zip/.npz file, or truncated (no end-of-central-directory record)`);
  let count = u16(tail, eocd + 10);
  let cdSize = u32(tail, eocd + 12);
  let cdOffset = u32(tail, eocd + 16);
  // ZIP64 end of central directory locator just before the EOCD.
  const loc = eocd - 20;
  if (loc >= 0 && u32(tail, loc) === 0x07064b50) {
    const z64Offset = u64(tail, loc + 8);
    const z64 = await readRange(file, z64Offset, 56);
    if (z64.length < 56 || u32(z64, 0) !== 0x06064b50) throw new DataError(`${file}: corrupt ZIP64 end-of-central-directory record`);
    count = u64(z64, 32);
    cdSize = u64(z64, 40);
    cdOffset = u64(z64, 48);
  }
  if (cdOffset + cdSize > fileSize) throw new DataError(`${file}: truncated zip/.npz file (central directory at ${cdOffset}+${cdSize} beyond ${fileSize} bytes)`);
  const cd = await readRange(file, cdOffset, cdSize);
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || u32(cd, p) !== 0x02014b50) throw new DataError(`${file}: corrupt zip central directory (entry ${i})`);
    const flags = u16(cd, p + 8);
    const method = u16(cd, p + 10);
    const crc32 = u32(cd, p + 16);
    let compressedSize = u32(cd, p + 20);
    let size = u32(cd, p + 24);
    const nameLen = u16(cd, p + 28);
    const extraLen = u16(cd, p + 30);
    const commentLen = u16(cd, p + 32);
    let localHeaderOffset = u32(cd, p + 42);
    const name = Buffer.from(cd.subarray(p + 46, p + 46 + nameLen)).toString(flags & 0x800 ? 'utf8' : 'latin1');
    // ZIP64 extended information extra field (id 1): the 0xFFFFFFFF fields, in this order.
    let e = p + 46 + nameLen;
    const eEnd = e + extraLen;
    while (e + 4 <= eEnd) {
      const id = u16(cd, e);
      const len = u16(cd, e + 2);
      if (id === 1) {
        let q = e + 4;
        if (size === 0xffffffff) { size = u64(cd, q); q += 8; }
        if (compressedSize === 0xffffffff) { compressedSize = u64(cd, q); q += 8; }
        if (localHeaderOffset === 0xffffffff) { localHeaderOffset = u64(cd, q); q += 8; }
      }
      e += 4 + len;
    }
    if (flags & 1) throw new DataError(`${file}: member ${name} is encrypted`);
    entries.push({ name, method, compressedSize, size, crc32, localHeaderOffset });
    p = eEnd + commentLen;
  }
  return entries;
}

/** Offset of a member's data: after its local header, whose name/extra lengths may differ from the central ones. */
export async function memberDataOffset(file: string, e: ZipEntry): Promise<number> {
  const lh = await readRange(file, e.localHeaderOffset, 30);
  if (lh.length < 30 || u32(lh, 0) !== 0x04034b50) throw new DataError(`${file}: corrupt or truncated zip member ${e.name} (no local header)`);
  return e.localHeaderOffset + 30 + u16(lh, 26) + u16(lh, 28);
}
