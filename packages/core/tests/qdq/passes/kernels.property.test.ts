import * as fc from 'fast-check';
import { channelAbsMax, equalizationFactors } from '../../../src/qdq/passes/cross-layer-equalization';
import { isotoneRange } from '../../../src/qdq/passes/isotone-ranges';
import { rescaledRange } from '../../../src/qdq/passes/rescale';
import { smoothingFactors } from '../../../src/qdq/passes/smooth-quant';

// Any float32 value, NaN, ±Infinity, denormals and ±0 included.
const any32 = fc.float();
const finite32 = fc.float({ noNaN: true, noDefaultInfinity: true });
const pairOfArrays = fc.integer({ min: 1, max: 12 }).chain((n) => fc.tuple(fc.array(any32, { minLength: n, maxLength: n }), fc.array(any32, { minLength: n, maxLength: n })));

describe('pass kernels on any float32 input', () => {
  it('smoothing and equalization factors are finite and positive, deterministic', () => {
    fc.assert(fc.property(pairOfArrays, fc.double({ min: 0, max: 1, noNaN: true }), ([a, w], alpha) => {
      const s = smoothingFactors(a.map(Math.abs), w.map(Math.abs), alpha);
      const e = equalizationFactors(a.map(Math.abs), w.map(Math.abs));
      for (const v of [...s, ...e]) { expect(Number.isFinite(v)).toBe(true); expect(v).toBeGreaterThan(0); }
      expect(smoothingFactors(a.map(Math.abs), w.map(Math.abs), alpha)).toEqual(s);
    }));
  });

  it('channelAbsMax is the largest |w| of each channel (NaN skipped)', () => {
    fc.assert(fc.property(fc.array(any32, { minLength: 6, maxLength: 6 }), (v) => {
      const m = channelAbsMax(Float32Array.from(v), [2, 3], 0);
      const f = Float32Array.from(v);
      for (let c = 0; c < 2; c++) {
        const want = [0, 1, 2].map((j) => Math.abs(f[c * 3 + j]!)).filter((x) => !Number.isNaN(x)).reduce((a, b) => Math.max(a, b), 0);
        expect(m[c]).toBe(want);
      }
    }));
  });

  it('isotoneRange returns an ordered range from the candidates, never NaN', () => {
    fc.assert(fc.property(pairOfArrays, finite32, finite32, ([t1, t2], a, b) => {
      const lo = Math.min(a, b), hi = Math.max(a, b);
      const r = isotoneRange(t1, t2, lo, hi);
      expect(r.min).toBeLessThanOrEqual(r.max);
      expect(Number.isFinite(r.min) && Number.isFinite(r.max)).toBe(true);
      expect(r.kept).toBeGreaterThanOrEqual(r.keptBefore);
      expect(r.kept).toBeLessThanOrEqual(r.rows);
    }));
  });

  it('rescaledRange keeps a finite ordered range (the entry itself when nothing usable was measured)', () => {
    fc.assert(fc.property(pairOfArrays, finite32, finite32, fc.array(fc.double({ min: 1e-3, max: 1e3, noNaN: true }), { minLength: 12, maxLength: 12 }), ([lo, hi], a, b, f) => {
      const entry = { min: Math.min(a, b), max: Math.max(a, b) };
      const r = rescaledRange(entry, { min: Float64Array.from(lo), max: Float64Array.from(hi) }, f);
      expect(r.min).toBeLessThanOrEqual(r.max);
      expect(Number.isFinite(r.min) && Number.isFinite(r.max)).toBe(true);
    }));
  });
});
