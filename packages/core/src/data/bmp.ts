/**
 * Windows BMP decoding, because sharp's prebuilt libvips has no BMP loader. Uncompressed
 * (BI_RGB) 1/4/8-bit palette, 16/24/32-bit, and BI_BITFIELDS 16/32-bit; bottom-up and top-down.
 * RLE-compressed BMPs are rejected with a message.
 */
export interface BmpInfo { width: number; height: number; bpp: number; topDown: boolean; dataOffset: number; rowBytes: number; compression: number; headerSize: number }

const i32 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24);
const u32 = (b: Uint8Array, o: number): number => i32(b, o) >>> 0;
const u16 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8);

/** Parse the file and info headers (the first 54+ bytes). Throws Error with the reason. */
export function parseBmpHeader(b: Uint8Array): BmpInfo {
  if (b.length < 26 || b[0] !== 0x42 || b[1] !== 0x4d) throw new Error('not a BMP file (no BM signature)');
  const dataOffset = u32(b, 10);
  const headerSize = u32(b, 14);
  let width: number, height: number, bpp: number, compression = 0;
  if (headerSize === 12) {
    width = u16(b, 18); height = u16(b, 20); bpp = u16(b, 24);
  } else {
    if (b.length < 54) throw new Error('truncated BMP header');
    width = i32(b, 18); height = i32(b, 22); bpp = u16(b, 28); compression = u32(b, 30);
  }
  if (compression !== 0 && compression !== 3 && compression !== 6) throw new Error(`BMP compression ${compression} (RLE/JPEG/PNG) is not supported; convert to PNG`);
  if (![1, 4, 8, 16, 24, 32].includes(bpp)) throw new Error(`BMP with ${bpp} bits per pixel is not supported`);
  if (width <= 0 || height === 0 || height === -2147483648) throw new Error(`bad BMP size ${width}×${height}`);
  if (dataOffset < 14 + headerSize) throw new Error(`bad BMP data offset ${dataOffset} (inside the headers)`);
  const rowBytes = Math.ceil((width * bpp) / 32) * 4;
  return { width, height: Math.abs(height), bpp, topDown: height < 0, dataOffset, rowBytes, compression, headerSize };
}

function maskShift(mask: number): { shift: number; max: number } {
  if (mask === 0) return { shift: 0, max: 1 };
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  return { shift, max: mask >>> shift };
}

/** Decode a whole BMP file to interleaved RGB (3 channels, top row first). */
export function decodeBmp(b: Uint8Array, maxPixels = 16383 * 16383): { data: Uint8Array; width: number; height: number } {
  const h = parseBmpHeader(b);
  const { width, height, bpp, rowBytes } = h;
  if (width * height > maxPixels) throw new Error(`BMP of ${width}×${height} pixels is larger than the ${maxPixels}-pixel limit`);
  if (b.length < h.dataOffset + rowBytes * height) throw new Error(`truncated BMP data (${b.length} bytes, expected ${h.dataOffset + rowBytes * height})`);
  const out = new Uint8Array(width * height * 3);
  let masks: [number, number, number] | undefined;
  if (h.compression === 3 || h.compression === 6) masks = [u32(b, 54), u32(b, 58), u32(b, 62)];
  else if (bpp === 16) masks = [0x7c00, 0x03e0, 0x001f];
  const ms = masks?.map(maskShift);
  const palOffset = 14 + h.headerSize;
  const palEntry = h.headerSize === 12 ? 3 : 4;
  for (let y = 0; y < height; y++) {
    const row = h.dataOffset + (h.topDown ? y : height - 1 - y) * rowBytes;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      if (bpp <= 8) {
        const bit = x * bpp;
        const idx = (b[row + (bit >> 3)]! >> (8 - bpp - (bit & 7))) & ((1 << bpp) - 1);
        const p = palOffset + idx * palEntry;
        out[o] = b[p + 2]!; out[o + 1] = b[p + 1]!; out[o + 2] = b[p]!;
      } else if (bpp === 24 || (bpp === 32 && !masks)) {
        const p = row + x * (bpp / 8);
        out[o] = b[p + 2]!; out[o + 1] = b[p + 1]!; out[o + 2] = b[p]!;
      } else {
        const v = bpp === 16 ? u16(b, row + x * 2) : u32(b, row + x * 4);
        for (let k = 0; k < 3; k++) {
          const { shift, max } = ms![k]!;
          out[o + k] = Math.round((((v & masks![k]!) >>> shift) * 255) / max);
        }
      }
    }
  }
  return { data: out, width, height };
}
