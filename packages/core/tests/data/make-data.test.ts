import { readFileSync, statSync } from 'node:fs';
import sharp from 'sharp';
import { readNpy } from '../../src/data';
import { tempDir } from './helpers';

// The example generator is plain CommonJS requiring @qcal/core; only its data layer is used, so
// the test maps it to that (loading all of core, onnxruntime included, costs seconds).
jest.mock('@qcal/core', () => jest.requireActual('../../src/data'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { makeTextLines, makeScenes } = require('../../../../examples/ppocr-rec/make-data.js') as {
  makeTextLines(o: object): Promise<{ list: string; images: string[]; npys: string[]; skipped: boolean }>;
  makeScenes(o: object): Promise<{ images: string[]; skipped: boolean }>;
};

describe('examples/ppocr-rec/make-data.js', () => {
  const t = tempDir();
  afterAll(() => t.cleanup());

  test('text lines: PNGs, paddleocr-rec tensors 1×3×48×min(ceil(48w/h), 320), list file; idempotent', async () => {
    const r = await makeTextLines({ count: 6, out: t.dir, seed: 3 });
    expect(r.skipped).toBe(false);
    expect(readFileSync(r.list, 'utf8').trim().split('\n')).toEqual(r.npys.map((_, i) => `npy/line_000${i}.npy`));
    for (let i = 0; i < 6; i++) {
      const m = await sharp(r.images[i]!).metadata();
      const { header, data } = readNpy(readFileSync(r.npys[i]!));
      expect(header.shape).toEqual([1, 3, 48, Math.min(Math.ceil(48 * (m.width! / m.height!)), 320)]);
      for (const v of data as Float32Array) if (!(v >= -1 && v <= 1)) throw new Error(`value ${v} outside [-1, 1]`);
    }
    const mtime = statSync(r.npys[0]!).mtimeMs;
    const again = await makeTextLines({ count: 6, out: t.dir, seed: 3 });
    expect(again.skipped).toBe(true);
    expect(statSync(r.npys[0]!).mtimeMs).toBe(mtime);
  });

  test('scenes (640×640 by default; small here to keep the test fast)', async () => {
    const s = await makeScenes({ count: 1, out: t.dir, seed: 3, size: 320 });
    const m = await sharp(s.images[0]!).metadata();
    expect([m.width, m.height]).toEqual([320, 320]);
  });
});
