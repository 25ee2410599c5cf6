import { DataError } from '../errors';
import { convertTyped, type FeedType } from './dtype';
import { readRange } from './file-io';
import { decodeNpyPayload, npyHeaderLength, parseNpyHeader } from './npy';
import type { Part } from './part';

/** Read a .npy file's header only (a few hundred bytes) and check its size against it. */
export async function npyPart(path: string, fileSize: number): Promise<Part> {
  let head = await readRange(path, 0, 128);
  const total = npyHeaderLength(head, path);
  if (total > fileSize) throw new DataError(`${path}: truncated .npy file: ${fileSize} bytes, its header claims ${total}`);
  if (total > head.length) head = await readRange(path, 0, total);
  const h = parseNpyHeader(head, path);
  if (fileSize < h.dataOffset + h.dataBytes) {
    throw new DataError(`${path}: truncated .npy file: ${fileSize} bytes, expected ${h.dataOffset + h.dataBytes} for shape [${h.shape.join(', ')}] ${h.dtype}`);
  }
  return {
    file: path,
    label: path,
    dims: h.shape,
    type: h.dtype,
    async load(target: FeedType) {
      // Only the bytes the header accounts for (a file with gigabytes appended is not read whole).
      const bytes = await readRange(path, 0, h.dataOffset + h.dataBytes);
      const arr = decodeNpyPayload(bytes.subarray(h.dataOffset), h, path);
      return convertTyped(arr, h.dtype, target);
    },
  };
}
