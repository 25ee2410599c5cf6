import sharp from 'sharp';
import { openData, type ModelInputSpec } from '../../src/data';
import { DataError } from '../../src/errors';
import type { FeedTensor } from '../../src/tensor';
import { allBatches, tempDir } from './helpers';

/** An RGB image from rows of [r,g,b] pixels. */
async function png(pixels: number[][][]): Promise<Buffer> {
  const h = pixels.length;
  const w = pixels[0]!.length;
  return sharp(Buffer.from(pixels.flat(2)), { raw: { width: w, height: h, channels: 3 } }).png().toBuffer();
}
async function solid(w: number, h: number, rgb: [number, number, number], format: 'png' | 'jpeg' | 'webp' = 'png'): Promise<Buffer> {
  const img = sharp({ create: { width: w, height: h, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } });
  return format === 'png' ? img.png().toBuffer() : format === 'jpeg' ? img.jpeg({ quality: 100 }).toBuffer() : img.webp({ lossless: true }).toBuffer();
}
/** A 24-bit bottom-up BMP written by hand. */
function bmp(pixels: number[][][]): Buffer {
  const h = pixels.length;
  const w = pixels[0]!.length;
  const row = Math.ceil((w * 3) / 4) * 4;
  const b = Buffer.alloc(54 + row * h);
  b.write('BM', 0, 'latin1');
  b.writeUInt32LE(b.length, 2); b.writeUInt32LE(54, 10); b.writeUInt32LE(40, 14);
  b.writeInt32LE(w, 18); b.writeInt32LE(h, 22); b.writeUInt16LE(1, 26); b.writeUInt16LE(24, 28);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const [r, g, bl] = pixels[y]![x]!;
    const o = 54 + (h - 1 - y) * row + x * 3;
    b[o] = bl!; b[o + 1] = g!; b[o + 2] = r!;
  }
  return b;
}
/** Element (c, y, x) of a 1×C×H×W float tensor. */
const at = (t: FeedTensor, c: number, y: number, x: number): number => {
  const [, , H, W] = t.dims as number[];
  return (t.data as Float32Array)[(c * H! + y) * W! + x]!;
};

const TWO_BY_TWO = [
  [[10, 20, 30], [50, 60, 70]],
  [[90, 100, 110], [130, 140, 150]],
];

describe('images', () => {
  const t = tempDir();
  afterAll(() => t.cleanup());

  test('bilinear resize as cv2.resize INTER_LINEAR, BGR order, y = (x - mean) * scale', async () => {
    t.write('a/img.png', await png(TWO_BY_TWO));
    const input: ModelInputSpec = { name: 'x', type: 'float32', dims: [1, 3, 4, 4] };
    const [b] = await allBatches(await openData({ data: 'a/img.png', preprocess: { pixelFormat: 'bgr', mean: [1, 2, 3], scale: [0.5] } }, [input], t.dir));
    const x = b!.feeds.x!;
    expect(x.dims).toEqual([1, 3, 4, 4]);
    // dst (1,2): src y = 1.5·0.5−0.5 = 0.25, src x = 2.5·0.5−0.5 = 0.75
    // R: top 10·.25+50·.75 = 40, bottom 90·.25+130·.75 = 120, 40·.75+120·.25 = 60; G 70; B 80.
    expect(at(x, 0, 1, 2)).toBeCloseTo((80 - 1) * 0.5, 6); // channel 0 is B
    expect(at(x, 1, 1, 2)).toBeCloseTo((70 - 2) * 0.5, 6);
    expect(at(x, 2, 1, 2)).toBeCloseTo((60 - 3) * 0.5, 6);
    // corners clamp to the source corners
    expect(at(x, 2, 0, 0)).toBeCloseTo((10 - 3) * 0.5, 6);
    expect(at(x, 0, 3, 3)).toBeCloseTo((150 - 1) * 0.5, 6);
    // dst (0,1): src y clamps to 0, src x = 0.25: R = 10·.75 + 50·.25 = 20
    expect(at(x, 2, 0, 1)).toBeCloseTo((20 - 3) * 0.5, 6);
  });

  test('paddleocr-rec: height 48, width ceil(48·w/h) capped at 320, zero-padded to a fixed width', async () => {
    t.write('rec/a.png', await solid(25, 10, [200, 100, 50])); // 48·2.5 = 120
    t.write('rec/b.png', await solid(200, 10, [200, 100, 50])); // 960 → 320
    t.write('rec/c.png', await solid(31, 10, [200, 100, 50])); // ceil(148.8) = 149
    const dyn: ModelInputSpec = { name: 'x', type: 'float32', dims: ['N', 3, 48, 'W'] };
    const d = await openData({ data: 'rec', preprocess: 'paddleocr-rec', batchSize: 4 }, [dyn], t.dir);
    const bs = await allBatches(d);
    expect(bs.map((b) => b.feeds.x!.dims)).toEqual([[1, 3, 48, 120], [1, 3, 48, 320], [1, 3, 48, 149]]);
    const x = bs[0]!.feeds.x!;
    expect(at(x, 0, 20, 60)).toBeCloseTo((50 / 255 - 0.5) / 0.5, 5); // B
    expect(at(x, 2, 20, 60)).toBeCloseTo((200 / 255 - 0.5) / 0.5, 5); // R
    const fixed: ModelInputSpec = { name: 'x', type: 'float32', dims: [1, 3, 48, 320] };
    const [f] = await allBatches(await openData({ data: 'rec/a.png', preprocess: 'paddleocr-rec' }, [fixed], t.dir));
    const fx = f!.feeds.x!;
    expect(fx.dims).toEqual([1, 3, 48, 320]);
    expect(at(fx, 1, 47, 119)).toBeCloseTo((100 / 255 - 0.5) / 0.5, 5);
    expect(at(fx, 1, 47, 120)).toBe(0);
    expect(at(fx, 0, 0, 319)).toBe(0);
    // padToWidth makes dynamic-width lines stackable
    const p = await openData({ data: 'rec', preprocess: { preset: 'paddleocr-rec', padToWidth: 320 }, batchSize: 4 }, [dyn], t.dir);
    expect((await allBatches(p)).map((b) => b.feeds.x!.dims)).toEqual([[3, 3, 48, 320]]);
  });

  test('paddleocr-det: sides rounded (half to even) to multiples of 32, BGR with ImageNet mean/std', async () => {
    t.write('det/small.jpg', await solid(70, 100, [200, 100, 50], 'jpeg')); // round(3.125)=3, round(2.1875)=2 → 96×64
    t.write('det/tie.webp', await solid(80, 48, [200, 100, 50], 'webp')); // 1.5 → 2, 2.5 → 2 → 64×64
    const input: ModelInputSpec = { name: 'x', type: 'float32', dims: ['N', 3, 'H', 'W'] };
    const bs = await allBatches(await openData({ data: 'det', preprocess: 'paddleocr-det' }, [input], t.dir));
    expect(bs.map((b) => [b.ids[0]!.slice(-9), b.feeds.x!.dims.slice(2)])).toEqual([['small.jpg', [96, 64]], ['/tie.webp', [64, 64]]]);
    const x = bs[1]!.feeds.x!;
    // the image's own (BGR) channel order gets ImageNet's mean/std, as PaddleOCR does
    expect(at(x, 0, 10, 10)).toBeCloseTo((50 / 255 - 0.485) / 0.229, 4);
    expect(at(x, 1, 10, 10)).toBeCloseTo((100 / 255 - 0.456) / 0.224, 4);
    expect(at(x, 2, 10, 10)).toBeCloseTo((200 / 255 - 0.406) / 0.225, 4);
    const fixed: ModelInputSpec = { name: 'x', type: 'float32', dims: [1, 3, 32, 32] };
    const [f] = await allBatches(await openData({ data: 'det/small.jpg', preprocess: 'paddleocr-det' }, [fixed], t.dir));
    expect(f!.feeds.x!.dims).toEqual([1, 3, 32, 32]); // a fixed-shape export is fed its own size
  });

  test('imagenet: short side 256, centre crop 224, RGB, ImageNet mean/std', async () => {
    t.write('in/a.png', await solid(400, 300, [200, 100, 50]));
    const input: ModelInputSpec = { name: 'data', type: 'float32', dims: ['N', 3, 224, 224] };
    const [b] = await allBatches(await openData({ data: 'in', preprocess: 'imagenet' }, [input], t.dir));
    const x = b!.feeds.data!;
    expect(x.dims).toEqual([1, 3, 224, 224]);
    expect(at(x, 0, 0, 0)).toBeCloseTo((200 / 255 - 0.485) / 0.229, 4);
    expect(at(x, 2, 223, 223)).toBeCloseTo((50 / 255 - 0.406) / 0.225, 4);
  });

  test('gray, NHWC, letterbox with padding, and BMP', async () => {
    t.write('g/a.bmp', bmp([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]], [[0, 0, 0], [10, 10, 10], [20, 20, 20], [30, 30, 30]]]));
    const input: ModelInputSpec = { name: 'x', type: 'float32', dims: [1, 8, 8, 1] };
    const [b] = await allBatches(await openData({ data: 'g/a.bmp', preprocess: { resize: 'letterbox', pixelFormat: 'gray', padValue: -1, interpolation: 'nearest' } }, [input], t.dir));
    const x = b!.feeds.x!;
    expect(x.dims).toEqual([1, 8, 8, 1]);
    const px = (y: number, xx: number): number => (x.data as Float32Array)[y * 8 + xx]!;
    // 2×4 → 4×8 centred: rows 0,1 and 6,7 are padding
    expect([px(0, 0), px(1, 7), px(6, 0), px(7, 7)]).toEqual([-1, -1, -1, -1]);
    // row 2 (source row 0), nearest: x 0,1 → red, 2,3 → green; gray = round(.299·255)=76, round(.587·255)=150
    expect([px(2, 0), px(2, 1), px(2, 2), px(2, 4), px(2, 6), px(5, 7)]).toEqual([76, 76, 150, 29, 255, 30]);
  });

  test('uint8 inputs are fed raw pixels when there is no normalisation', async () => {
    t.write('u8/a.png', await png(TWO_BY_TWO));
    const input: ModelInputSpec = { name: 'x', type: 'uint8', dims: [1, 2, 2, 3] };
    const [b] = await allBatches(await openData({ data: 'u8/a.png' }, [input], t.dir));
    expect(b!.feeds.x!.type).toBe('uint8');
    expect(Array.from(b!.feeds.x!.data as Uint8Array)).toEqual(TWO_BY_TWO.flat(2));
  });

  test('problems are reported before inference, naming the file and the input', async () => {
    const input: ModelInputSpec = { name: 'x', type: 'float32', dims: [1, 3, 4, 4] };
    t.write('bad1/broken.png', Buffer.from('definitely not a png'));
    const e1 = await openData({ data: 'bad1' }, [input], t.dir).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(DataError);
    expect((e1 as Error).message).toMatch(/broken\.png: cannot read image for input 'x'/);
    // A truncated JPEG whose header survives: found when its batch is decoded, still named.
    const noise = Buffer.from(Array.from({ length: 256 * 256 * 3 }, (_, i) => (i * 7919) % 251));
    const good = await sharp(noise, { raw: { width: 256, height: 256, channels: 3 } }).jpeg().toBuffer();
    t.write('bad2/trunc.jpg', good.subarray(0, good.length >> 1));
    const d2 = await openData({ data: 'bad2' }, [input], t.dir);
    const e2 = await allBatches(d2).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(DataError);
    expect((e2 as Error).message).toMatch(/trunc\.jpg: image fails to decode for input 'x' \(.*premature end/);
    t.write('bad3/a.png', await png(TWO_BY_TWO));
    await expect(openData({ data: 'bad3', preprocess: { pixelFormat: 'gray' } }, [input], t.dir)).rejects.toThrow(/input 'x' \[1, 3, 4, 4\] has 3 channels .* makes 1/);
    await expect(openData({ data: 'bad3' }, [{ ...input, dims: ['N', 3, 'H', 'W'] }], t.dir)).rejects.toThrow(/a\.png: input 'x' \[N, 3, H, W\]: the model's height is dynamic .* preprocess\.size/);
    await expect(openData({ data: 'bad3', preprocess: 'paddle' }, [input], t.dir)).rejects.toThrow(/unknown preset 'paddle' \(known: none, imagenet, paddleocr-det, paddleocr-rec\)/);
    await expect(openData({ data: 'bad3', preprocess: { mean: [1, 2], sise: 3 } as never }, [input], t.dir)).rejects.toThrow(/preprocess\.mean: invalid value[\s\S]*preprocess\.sise: unknown setting/);
  });
});
