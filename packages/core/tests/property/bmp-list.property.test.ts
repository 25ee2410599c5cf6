/**
 * Property and fuzz tests of qcal's own BMP decoder and of data list files.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { decodeBmp, parseBmpHeader } from '../../src/data/bmp';
import { openData, writeNpy } from '../../src/data';
import { fuzzParams, outcomeAsync, mutated } from '../../../../test-support/fuzz';

/** A BMP written by hand: bpp 24 (BGR), 8 (palette), 1 (palette), 32 bitfields; top-down when `topDown`. */
function bmp(w: number, h: number, bpp: 1 | 8 | 24 | 32, px: Uint8Array, topDown: boolean): Buffer {
  const pal = bpp <= 8 ? 4 << bpp : 0;
  const fields = bpp === 32 ? 12 : 0;
  const row = Math.ceil((w * bpp) / 32) * 4;
  const off = 54 + fields + pal;
  const b = Buffer.alloc(off + row * h);
  b.write('BM', 0, 'latin1');
  b.writeUInt32LE(b.length, 2); b.writeUInt32LE(off, 10); b.writeUInt32LE(40, 14);
  b.writeInt32LE(w, 18); b.writeInt32LE(topDown ? -h : h, 22); b.writeUInt16LE(1, 26); b.writeUInt16LE(bpp, 28);
  b.writeUInt32LE(bpp === 32 ? 3 : 0, 30);
  if (bpp === 32) { b.writeUInt32LE(0xff0000, 54); b.writeUInt32LE(0xff00, 58); b.writeUInt32LE(0xff, 62); }
  for (let i = 0; i < pal / 4; i++) { b[54 + i * 4] = (i * 37) & 255; b[55 + i * 4] = (i * 91) & 255; b[56 + i * 4] = (i * 13) & 255; }
  let k = 0;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const o = off + (topDown ? y : h - 1 - y) * row;
    const v = px[k++ % px.length]!;
    if (bpp === 24) { b[o + x * 3] = v; b[o + x * 3 + 1] = v ^ 0x55; b[o + x * 3 + 2] = 255 - v; }
    else if (bpp === 32) b.writeUInt32LE((v << 16) | ((v ^ 0x55) << 8) | (255 - v), o + x * 4);
    else if (bpp === 8) b[o + x] = v;
    else if (v & 1) b[o + (x >> 3)]! |= 0x80 >> (x & 7);
  }
  return b;
}

const image = fc.record({
  w: fc.integer({ min: 1, max: 9 }), h: fc.integer({ min: 1, max: 7 }), bpp: fc.constantFrom(1 as const, 8 as const, 24 as const, 32 as const),
  px: fc.uint8Array({ minLength: 1, maxLength: 64 }), topDown: fc.boolean(),
});

/** decodeBmp's contract: the pixels, or an Error with a reason (never a TypeError/RangeError of its own code). */
function decodeOutcome(b: Uint8Array): { ok: true; w: number; h: number; n: number } | { ok: false; message: string } {
  try {
    const r = decodeBmp(b);
    return { ok: true, w: r.width, h: r.height, n: r.data.length };
  } catch (e) {
    if (e instanceof TypeError || e instanceof RangeError || !(e instanceof Error)) throw e;
    return { ok: false, message: e.message };
  }
}

describe('BMP decoder', () => {
  it('24/32-bit images decode to their pixels, palette images to their palette colours [300 runs]', () => {
    fc.assert(fc.property(image, ({ w, h, bpp, px, topDown }) => {
      const d = decodeBmp(bmp(w, h, bpp, px, topDown));
      expect([d.width, d.height, d.data.length]).toEqual([w, h, w * h * 3]);
      for (let y = 0, k = 0; y < h; y++) for (let x = 0; x < w; x++, k++) {
        const v = px[k % px.length]!;
        const got = Array.from(d.data.subarray((y * w + x) * 3, (y * w + x) * 3 + 3));
        if (bpp === 24) expect(got).toEqual([255 - v, v ^ 0x55, v]);
        else if (bpp === 32) expect(got).toEqual([v, v ^ 0x55, 255 - v]);
        else {
          const i = bpp === 8 ? v : v & 1;
          expect(got).toEqual([(i * 13) & 255, (i * 91) & 255, (i * 37) & 255]);
        }
      }
    }), fuzzParams(300));
  });

  it('mutated BMP bytes: w×h×3 pixels or a reason; the header parse agrees; deterministic [800 runs]', () => {
    const seeds = fc.sample(image, { seed: 3, numRuns: 8 }).map((i) => bmp(i.w, i.h, i.bpp, i.px, i.topDown));
    fc.assert(fc.property(fc.constantFrom(...seeds).chain(mutated), (b) => {
      const r = decodeOutcome(b);
      if (r.ok) {
        expect(r.n).toBe(r.w * r.h * 3);
        const h = parseBmpHeader(b);
        expect([h.width, h.height]).toEqual([r.w, r.h]);
      }
      expect(decodeOutcome(b)).toEqual(r);
    }), fuzzParams(800));
  });

  it('any size in the header is refused past the pixel limit before the decoder allocates [200 runs]', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: -(2 ** 31) + 1, max: 2 ** 31 - 1 }), (w, h) => {
      const b = bmp(1, 1, 24, Uint8Array.of(1), false);
      b.writeInt32LE(w, 18); b.writeInt32LE(h, 22);
      const r = decodeOutcome(b);
      if (r.ok) expect(r.w * r.h).toBeLessThanOrEqual(16383 * 16383);
    }), fuzzParams(200));
  });
});

describe('data list files', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qcal-list-prop-'));
  fs.writeFileSync(path.join(dir, 'a.npy'), writeNpy(Float32Array.of(1, 2, 3, 4), [1, 4], 'float32'));
  fs.writeFileSync(path.join(dir, 'b c.npy'), writeNpy(Float32Array.of(5, 6, 7, 8), [4], 'float32'));
  const inputs = [{ name: 'x', type: 'float32', dims: [1, 4] }];
  const token = fc.oneof(
    fc.constantFrom('a.npy', 'b c.npy', ' a.npy ', './a.npy', 'missing.npy', 'a.txt', '', '#', '# a comment', ',', 'a.npy,a.npy', '../a.npy', '\t', 'a.npz', '/dev/null.npy'),
    fc.string({ maxLength: 12 }),
    fc.string({ unit: 'binary', maxLength: 8 }),
  );
  const listText = fc.tuple(fc.array(fc.array(token, { minLength: 1, maxLength: 3 }).map((t) => t.join('')), { maxLength: 6 }), fc.constantFrom('\n', '\r\n')).map(([lines, eol]) => lines.join(eol));
  let n = 0;

  it('any list text: its samples, or a DataError naming the list line [250 runs]', async () => {
    await fc.assert(fc.asyncProperty(listText, async (text) => {
      const file = path.join(dir, `list${n++ % 3}.txt`);
      fs.writeFileSync(file, text);
      const r = await outcomeAsync(async () => {
        const d = await openData({ data: file }, inputs, dir);
        let samples = 0;
        for await (const b of d.batches()) samples += b.size;
        return samples;
      });
      if (r.ok) expect(r.value).toBeGreaterThan(0);
      else {
        expect(['QCAL_DATA', 'QCAL_CONFIG']).toContain(r.code);
        expect(r.message).toContain(dir);
      }
    }), fuzzParams(250));
  });
});
