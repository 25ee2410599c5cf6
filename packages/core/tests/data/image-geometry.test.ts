import { planGeometry, roundHalfEven } from '../../src/data/image-geometry';
import { PRESETS } from '../../src/data';

const det = PRESETS['paddleocr-det']!;
const rec = PRESETS['paddleocr-rec']!;
const size = (g: { outH: number; outW: number }): number[] => [g.outH, g.outW];

// Expected values computed with PaddleOCR's Python formulas, e.g. for 500×2000:
//   ratio = 960/2000; int(500·ratio) = 240; round(240/32)·32 = 256; int(2000·ratio) = 960
describe('image geometry', () => {
  test('round half to even, as Python 3 round()', () => {
    expect([0.5, 1.5, 2.5, 3.5, 2.4, 2.6].map(roundHalfEven)).toEqual([0, 2, 2, 4, 2, 3]);
  });

  test('paddleocr-det: DetResizeForTest type 0 (limit 960, max, multiple of 32, at least 32)', () => {
    const g = (h: number, w: number): number[] => size(planGeometry(h, w, undefined, undefined, det));
    expect(g(1000, 500)).toEqual([960, 480]);
    expect(g(500, 2000)).toEqual([256, 960]);
    expect(g(100, 70)).toEqual([96, 64]);
    expect(g(10, 900)).toEqual([32, 896]); // max(round(10/32)·32, 32) = 32
    expect(g(3000, 3000)).toEqual([960, 960]);
    expect(size(planGeometry(1000, 500, 640, 640, det))).toEqual([640, 640]); // fixed dims win
    expect(size(planGeometry(100, 1000, undefined, undefined, { ...det, limitType: 'min', limitSideLen: 736 }))).toEqual([736, 7360]);
  });

  test('paddleocr-rec: height 48, width ceil(48·w/h), capped', () => {
    const g = (h: number, w: number, W?: number): { outW: number; rw: number } => planGeometry(h, w, 48, W, rec);
    expect(g(32, 100)).toMatchObject({ outW: 150, rw: 150 });
    expect(g(31, 100)).toMatchObject({ outW: 155, rw: 155 }); // ceil(154.8…)
    expect(g(10, 1000)).toMatchObject({ outW: 320, rw: 320 });
    expect(g(32, 100, 320)).toMatchObject({ outW: 320, rw: 150 }); // padded to the fixed width
    expect(planGeometry(32, 100, undefined, undefined, { ...rec, padToWidth: 320 })).toMatchObject({ outH: 48, outW: 320, rw: 150 });
  });

  test('crop (torchvision Resize(256) + CenterCrop(224)) and letterbox', () => {
    expect(planGeometry(300, 400, 224, 224, PRESETS.imagenet!)).toEqual({ outH: 224, outW: 224, rh: 256, rw: 341, top: -16, left: -58 });
    expect(planGeometry(100, 50, 64, 64, { resize: 'letterbox' })).toEqual({ outH: 64, outW: 64, rh: 64, rw: 32, top: 0, left: 16 });
    expect(planGeometry(100, 50, 64, 64, { resize: 'letterbox', padPosition: 'topleft' })).toMatchObject({ top: 0, left: 0 });
    expect(() => planGeometry(10, 10, undefined, 8, { resize: 'stretch' })).toThrow(/height is dynamic/);
    expect(size(planGeometry(10, 10, undefined, undefined, { resize: 'stretch', size: [5, 6] }))).toEqual([5, 6]);
  });
});
