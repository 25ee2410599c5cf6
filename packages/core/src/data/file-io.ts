import { promises as fsp, createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { DataError, messageOf } from '../errors';

/** Read `length` bytes at `position` (fewer at end of file). */
export async function readRange(path: string, position: number, length: number): Promise<Uint8Array> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(path, 'r');
    // Never allocate more than the file can give: lengths come from headers that may lie.
    const st = await fh.stat();
    if (!st.isFile()) throw new Error('not a regular file');
    if (!(position >= 0) || !Number.isSafeInteger(position)) throw new Error(`bad offset ${position}`);
    length = Math.max(0, Math.min(length, st.size - position));
    const buf = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await fh.read(buf, got, length - got, position + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buf.subarray(0, got);
  } catch (err) {
    throw new DataError(`${path}: cannot read (${messageOf(err)})`, { cause: err });
  } finally {
    await fh?.close();
  }
}

/** Read a whole file into a fresh buffer, or throw a DataError naming it. */
export async function readWhole(path: string): Promise<Uint8Array> {
  try {
    return await fsp.readFile(path);
  } catch (err) {
    throw new DataError(`${path}: cannot read (${messageOf(err)})`, { cause: err });
  }
}

/** sha256 (hex) of a file's bytes, streamed. */
export async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  } catch (err) {
    throw new DataError(`${path}: cannot read (${messageOf(err)})`, { cause: err });
  }
  return hash.digest('hex');
}

/** Run `fn` over items with at most `limit` in flight; results in item order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Compare strings by Unicode code point (JS `<` compares UTF-16 code units). */
export function compareCodepoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}
