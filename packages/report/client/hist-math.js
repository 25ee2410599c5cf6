// @ts-check
/**
 * Numbers the report derives from a stored histogram (see core's activation-histogram.ts):
 * bin k covers [(offset + k)·width, (offset + k + 1)·width). Values are taken as spread evenly
 * inside a bin, so fractions and quantiles are exact at bin edges and linear in between.
 * Runs in the page and in Node (tests): no DOM.
 */
(function (root, factory) {
  const api = factory();
  if (typeof module === 'object' && module.exports) module.exports = api;
  else /** @type {any} */ (root).qcalHistMath = api;
})(typeof self !== 'undefined' ? self : this, function () {
  'use strict';

  /** @typedef {{ width: number, offset: number, counts: number[] }} Hist */

  /** @param {Hist} h */
  function total(h) {
    let s = 0;
    for (const c of h.counts) s += c;
    return s;
  }

  /** [lo, hi) covered by the stored bins. @param {Hist} h */
  function edges(h) {
    return [h.offset * h.width, (h.offset + h.counts.length) * h.width];
  }

  /**
   * Where the values of bin k lie: the bin, narrowed to the finite [min, max] seen (the end bins
   * are usually only partly covered; without this a range equal to the data's min/max would seem
   * to clip half of each end bin).
   * @param {Hist & { min?: number | null, max?: number | null }} h @param {number} k
   */
  function support(h, k) {
    let a = (h.offset + k) * h.width;
    let b = a + h.width;
    if (typeof h.min === 'number' && h.min > a && h.min < b) a = h.min;
    if (typeof h.max === 'number' && h.max < b && h.max >= a) b = h.max;
    return [a, b];
  }

  /**
   * Fraction of the binned (finite) values outside [lo, hi]. 0 for an empty histogram. For what a
   * quantizer really clips, widen the range by half a step first (see clippedByQuantizer).
   * @param {Hist & { min?: number | null, max?: number | null }} h @param {number} lo @param {number} hi
   */
  function clipFraction(h, lo, hi) {
    const n = total(h);
    if (n === 0) return 0;
    let out = 0;
    for (let k = 0; k < h.counts.length; k++) {
      const c = h.counts[k];
      if (!c) continue;
      const [a, b] = support(h, k);
      if (b <= a) {
        // All values of the bin at one point (the data's min or max).
        if (a < lo || a > hi) out += c;
        continue;
      }
      const inside = Math.max(0, Math.min(b, hi) - Math.max(a, lo));
      out += c * (1 - Math.min(1, inside / (b - a)));
    }
    return out / n;
  }

  /**
   * Fraction of values an 8-bit quantizer with range [lo, hi] clips: those more than half a step
   * (step = (hi − lo) / 255) outside the range. Values closer than that land on the end level
   * with no more error than rounding gives (a ReLU6 output at exactly 6 under a range ending at
   * 5.999 is not clipped in any way that matters).
   * @param {Hist & { min?: number | null, max?: number | null }} h @param {number} lo @param {number} hi
   */
  function clippedByQuantizer(h, lo, hi) {
    const half = (hi - lo) / 255 / 2;
    return clipFraction(h, lo - half, hi + half);
  }

  /**
   * The value below which a fraction q of the binned values lie (linear inside a bin's support).
   * @param {Hist & { min?: number | null, max?: number | null }} h @param {number} q in [0, 1]
   */
  function quantile(h, q) {
    const n = total(h);
    if (n === 0) return NaN;
    const target = q * n;
    let acc = 0;
    for (let k = 0; k < h.counts.length; k++) {
      const c = h.counts[k];
      if (c && acc + c >= target) {
        const [a, b] = support(h, k);
        return a + ((target - acc) / c) * Math.max(0, b - a);
      }
      acc += c;
    }
    return edges(h)[1];
  }

  /** Mean and standard deviation from bin centres. @param {Hist} h */
  function meanStd(h) {
    const n = total(h);
    if (n === 0) return { mean: NaN, std: NaN };
    let s = 0;
    let s2 = 0;
    for (let k = 0; k < h.counts.length; k++) {
      const x = (h.offset + k + 0.5) * h.width;
      s += h.counts[k] * x;
      s2 += h.counts[k] * x * x;
    }
    const mean = s / n;
    return { mean, std: Math.sqrt(Math.max(0, s2 / n - mean * mean)) };
  }

  /**
   * Whether counts span so many orders that a linear axis hides the tails (the largest bin over
   * the median occupied bin above 30): then the chart uses log10(1 + count).
   * @param {number[]} counts
   */
  function wantsLog(counts) {
    const nz = counts.filter((c) => c > 0).sort((a, b) => a - b);
    if (nz.length < 3) return false;
    const median = nz[Math.floor(nz.length / 2)];
    return nz[nz.length - 1] / median > 30;
  }

  /**
   * How far the extremes sit beyond the bulk: max(|min|, |max|) over the larger of |q(1e-4)| and
   * |q(1 - 1e-4)|. Large (say > 4): a min/max range spends most of its 256 levels on a few outliers.
   * @param {Hist} h @param {number} min @param {number} max
   */
  function tailRatio(h, min, max) {
    const bulk = Math.max(Math.abs(quantile(h, 1e-4)), Math.abs(quantile(h, 1 - 1e-4)));
    const ext = Math.max(Math.abs(min), Math.abs(max));
    if (!(bulk > 0)) return ext > 0 ? Infinity : 1;
    return ext / bulk;
  }

  return { total, edges, clipFraction, clippedByQuantizer, quantile, meanStd, wantsLog, tailRatio };
});
