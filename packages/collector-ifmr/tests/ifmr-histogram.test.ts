import {
  addToMomentHistogram, createMomentHistogram, histogramKth, histogramMse, ifmrCandidates, ifmrSearch, ifmrSearchHistogram,
  latticeExponent, mergeMomentHistograms, quantizationMse,
} from '@qcal/collector-ifmr';
import { golden, goldenBatches } from '../../../test-support/paths';
import { concat, normal, paramsOf } from './helpers';

const CASES = ['constant', 'gaussian', 'gaussian_outliers', 'growing_range', 'laplace', 'relu_like', 'zeros_spike'];
const VARIANTS = ['symmetric', 'asymmetric', 'symmetric_int4', 'asymmetric_int4'];

describe('moment histogram', () => {
  it('holds every finite value, counts NaN/Inf, and keeps the range over more than bins/2 bins', () => {
    const h = createMomentHistogram(1024);
    addToMomentHistogram(h, Float32Array.from([0.5, NaN, -Infinity, 1.5, Infinity, -2]));
    addToMomentHistogram(h, Float32Array.from([100, -3]));
    expect(h.n).toBe(5);
    expect(h.nan).toBe(1);
    expect(h.inf).toBe(2);
    expect(h.count.reduce((a, b) => a + b, 0)).toBe(5);
    expect(h.sum.reduce((a, b) => a + b, 0)).toBeCloseTo(97, 12);
    expect(h.sumSq).toBeCloseTo(0.25 + 2.25 + 4 + 10000 + 9, 9);
    expect([h.min, h.max]).toEqual([-3, 100]);
    const w = 2 ** h.exp!;
    expect(103 / w).toBeGreaterThan(1024 / 2 - 1);
    expect(latticeExponent(-3, 100, 1024)).toBe(h.exp);
  });

  it('merging shards gives the same counts as one pass, whatever the split (property)', () => {
    for (let seed = 1; seed <= 5; seed++) {
      const batches = [normal(3000, seed, 0.1), normal(2000, seed + 10, 3, 1), normal(1000, seed + 20, 0.01, -5)];
      const one = createMomentHistogram(2048);
      for (const b of batches) addToMomentHistogram(one, b);
      for (let split = 0; split <= batches.length; split++) {
        const a = createMomentHistogram(2048);
        const b = createMomentHistogram(2048);
        batches.forEach((d, i) => addToMomentHistogram(i < split ? a : b, d));
        mergeMomentHistograms(a, b);
        expect([a.exp, a.origin, a.n, a.min, a.max]).toEqual([one.exp, one.origin, one.n, one.min, one.max]);
        expect(Array.from(a.count)).toEqual(Array.from(one.count));
        for (let j = 0; j < 2048; j++) expect(Math.abs(a.sum[j]! - one.sum[j]!)).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(one.sum[j]!)));
      }
    }
  });

  it('interpolates the k-th largest within one bin', () => {
    const data = normal(50000, 7);
    const h = createMomentHistogram(4096);
    addToMomentHistogram(h, data);
    const sorted = Float32Array.from(data).sort();
    const w = 2 ** h.exp!;
    for (const k of [1, 2, 10, 100]) {
      expect(Math.abs(histogramKth(h, k, true) - sorted[sorted.length - k]!)).toBeLessThanOrEqual(w);
      expect(Math.abs(histogramKth(h, k, false) - sorted[k - 1]!)).toBeLessThanOrEqual(w);
    }
  });
});

describe('IFMR histogram mode against the exact search', () => {
  it('picks the same candidate on every golden set and variant (8192 bins), loss within 1e-3', () => {
    let worst = 0;
    for (const name of CASES) {
      const g = golden('amct_ifmr', name);
      const data = concat(goldenBatches(g));
      const h = createMomentHistogram(8192);
      for (const b of goldenBatches(g)) addToMomentHistogram(h, b);
      for (const v of VARIANTS) {
        const p = paramsOf(g.params[v]);
        const ex = ifmrSearch(data, p);
        const hi = ifmrSearchHistogram(h, p);
        expect(`${name}/${v}: ${hi.diag.bestIndex}`).toBe(`${name}/${v}: ${ex.diag.bestIndex}`);
        expect(hi.scale).toBe(ex.scale);
        if (v !== 'symmetric') continue; // the loss comparison is slow-ish; one variant per set suffices
        for (const c of ifmrCandidates(ex.diag.maxInit, ex.diag.minInit, p).candidates) {
          const le = quantizationMse(data, c.lo, c.hi, c.scale);
          if (le > 0) worst = Math.max(worst, Math.abs(histogramMse(h, c) - le) / le);
        }
      }
    }
    expect(worst).toBeLessThan(1e-3);
  });
});
