import * as zlib from 'node:zlib';

let table: Uint32Array | undefined;
/** CRC-32 (IEEE), zlib.crc32 when Node has it (>= 20.15), a table otherwise. */
export function crc32(b: Uint8Array): number {
  if (typeof zlib.crc32 === 'function') return zlib.crc32(b) >>> 0;
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = table[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * Write an .npz: `arrays` maps input names to .npy bytes (from writeNpy). Stored, as numpy's
 * savez, or deflated, as savez_compressed. Plain 32-bit zip (members under 4 GiB).
 */
export function writeNpz(arrays: Record<string, Uint8Array>, opts: { compress?: boolean } = {}): Uint8Array {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, npy] of Object.entries(arrays)) {
    const fname = Buffer.from(`${name}.npy`, 'utf8');
    const data = opts.compress ? zlib.deflateRawSync(npy) : Buffer.from(npy.buffer, npy.byteOffset, npy.length);
    const crc = crc32(npy);
    const method = opts.compress ? 8 : 0;
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0); lh.writeUInt16LE(20, 4); lh.writeUInt16LE(0x800, 6); lh.writeUInt16LE(method, 8);
    lh.writeUInt32LE(0x00210000, 10); // 1980-01-01 00:00 DOS time/date: deterministic bytes
    lh.writeUInt32LE(crc, 14); lh.writeUInt32LE(data.length, 18); lh.writeUInt32LE(npy.length, 22);
    lh.writeUInt16LE(fname.length, 26);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0); ch.writeUInt16LE(20, 4); ch.writeUInt16LE(20, 6); ch.writeUInt16LE(0x800, 8); ch.writeUInt16LE(method, 10);
    ch.writeUInt32LE(0x00210000, 12); ch.writeUInt32LE(crc, 16); ch.writeUInt32LE(data.length, 20); ch.writeUInt32LE(npy.length, 24);
    ch.writeUInt16LE(fname.length, 28); ch.writeUInt32LE(offset, 42);
    locals.push(lh, fname, data);
    centrals.push(ch, fname);
    offset += lh.length + fname.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(arrays).length, 8); end.writeUInt16LE(Object.keys(arrays).length, 10);
  end.writeUInt32LE(cd.length, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}
