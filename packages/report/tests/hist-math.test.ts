// eslint-disable-next-line @typescript-eslint/no-require-imports
const M = require('../client/hist-math.js') as {
  clipFraction(h: object, lo: number, hi: number): number;
  clippedByQuantizer(h: object, lo: number, hi: number): number;
  quantile(h: object, q: number): number;
  meanStd(h: object): { mean: number; std: number };
  wantsLog(c: number[]): boolean;
  tailRatio(h: object, min: number, max: number): number;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const C = require('../client/charts.js') as { fmt(v: unknown): string; esc(s: string): string };
import { embedJson } from '../src/render-html';

describe('report numbers (client/hist-math.js), hand-worked', () => {
  // Bins of width 1 over [0, 4): 10, 20, 30, 40 values; data min 0, max 3.5 (the last bin is half covered).
  const h = { width: 1, offset: 0, counts: [10, 20, 30, 40], min: 0, max: 3.5 };

  it('clipFraction spreads a bin over its part of [min, max]', () => {
    expect(M.clipFraction(h, 0, 3.5)).toBe(0); // the data's own range clips nothing
    expect(M.clipFraction(h, 0, 3)).toBeCloseTo(40 / 100, 12); // all of the last bin ([3, 3.5])
    expect(M.clipFraction(h, 0, 3.25)).toBeCloseTo(20 / 100, 12); // half of it
    expect(M.clipFraction(h, 0.5, 3.5)).toBeCloseTo(5 / 100, 12); // half of the first bin
    expect(M.clipFraction(h, 10, 20)).toBeCloseTo(1, 12);
  });

  it('a quantizer clips only values more than half a step outside its range', () => {
    // Range [0, 2.55]: step 0.01, so values up to 2.555 round to the top level: clipped (2.555, 3.5].
    const expected = (30 * (3 - 2.555) + 40) / 100;
    expect(M.clippedByQuantizer(h, 0, 2.55)).toBeCloseTo(expected, 12);
    // A point mass at the data's max (ReLU6 at exactly 6) just above the range is not clipped.
    const relu6 = { width: 0.03125, offset: 192, counts: [100], min: 6, max: 6 };
    expect(M.clippedByQuantizer(relu6, 0, 5.999)).toBe(0);
    expect(M.clippedByQuantizer(relu6, 0, 5.9)).toBe(1);
  });

  it('quantiles, mean and std from the bins', () => {
    expect(M.quantile(h, 0.1)).toBeCloseTo(1, 12);
    expect(M.quantile(h, 0.3)).toBeCloseTo(2, 12);
    expect(M.quantile(h, 0.8)).toBeCloseTo(3 + 0.5 * 0.5, 12); // half of the last bin's [3, 3.5]
    const { mean, std } = M.meanStd({ width: 1, offset: -1, counts: [1, 0, 1] }); // centres −0.5 and 1.5
    expect(mean).toBeCloseTo(0.5, 12);
    expect(std).toBeCloseTo(1, 12);
  });

  it('log scale when the tallest bin dwarfs the median one; tail ratio', () => {
    expect(M.wantsLog([100, 200, 300, 1000])).toBe(false); // median (index 2 of 4) 300: 1000 / 300 < 30
    expect(M.wantsLog([1, 2, 2, 2, 1000])).toBe(true);
    expect(M.wantsLog([5, 6, 7])).toBe(false);
    // 10000 values in [0, 1), one at 50: max over the 99.99th percentile ≈ 50.
    const t = { width: 1, offset: 0, counts: [10000, ...new Array(49).fill(0), 1], min: 0, max: 50 };
    expect(M.tailRatio(t, 0, 50)).toBeGreaterThan(45);
  });

  it('formats numbers for people, escapes names, embeds JSON safely', () => {
    expect([40, 2.25, 61.805397, 0.0123, 1.5e-5, 2.4e6, -0.375, Infinity, NaN, undefined].map((v) => C.fmt(v))).toEqual(['40', '2.25', '61.81', '0.0123', '1.5e−5', '2.4e6', '−0.375', '∞', 'NaN', '']);
    expect(C.esc('<img src=x onerror="a">')).toBe('&lt;img src=x onerror=&quot;a&quot;&gt;');
    const s = embedJson({ name: '</script><script>alert(1)</script>', v: Infinity, n: NaN });
    expect(s).not.toMatch(/<\/script/i);
    expect(JSON.parse(s)).toEqual({ name: '</script><script>alert(1)</script>', v: 'inf', n: 'NaN' });
  });
});
