import {
  binMoments, createHfmgHistogram, hfmgBinWidth, hfmgAddBatch, hfmgCollectBatch, hfmgLoss, hfmgLossDirect, hfmgSearch,
  hfmgSearchRange, histcInto,
} from '@qcal/collector-hfmg';

/** Seeded uniform [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
}

/** torch.histc with a float32 rounding per operation (the reference the fast path must equal). */
function histcReference(counts: Float64Array, data: Float32Array, lo: number, hi: number): void {
  const f = Math.fround;
  const n = counts.length;
  if (lo === hi) { lo = f(lo - 1); hi = f(hi + 1); }
  const range = f(hi - lo);
  for (const x of data) {
    if (!(x >= lo && x <= hi)) continue;
    const b = Math.trunc(f(f(f(x - lo) * n) / range));
    counts[b >= n ? n - 1 : b]! += 1;
  }
}

describe('hfmg fast paths equal the plain definitions', () => {
  it('histc: float64 binning with the float32 fallback near edges gives torch\'s bins', () => {
    const r = rng(3);
    for (const n of [1024, 4096, 8192]) {
      for (const [lo, hi] of [[-1, 1], [0, 6], [-3.7, 0.01], [1e-30, 3e-30], [5, 5]] as const) {
        const lo32 = Math.fround(lo), hi32 = Math.fround(hi);
        // Random values plus the exact float32 bin edges and their neighbours.
        const vals: number[] = [];
        for (let i = 0; i < 20000; i++) vals.push(Math.fround(lo32 + r() * (hi32 - lo32)));
        for (let k = 0; k <= n; k += 7) {
          const e = Math.fround(lo32 + ((hi32 - lo32) * k) / n);
          vals.push(e, Math.fround(e * (1 + 2 ** -23)), Math.fround(e * (1 - 2 ** -23)));
        }
        vals.push(lo32, hi32, NaN, Infinity, -Infinity, hi32 + 1);
        const data = Float32Array.from(vals);
        const a = new Float64Array(n), b = new Float64Array(n);
        histcInto(a, data, lo32, hi32);
        histcReference(b, data, lo32, hi32);
        expect(Array.from(a)).toEqual(Array.from(b));
      }
    }
  });

  it('loss: O(dst bins) prefix-moment form equals the bin-by-bin integral', () => {
    const r = rng(11);
    for (const n of [1024, 4096]) {
      const counts = new Float64Array(n);
      for (let i = 0; i < 30000; i++) {
        const g = (r() + r() + r() - 1.5) * 0.2;
        const b = Math.floor((g + 0.5) * n);
        if (b >= 0 && b < n) counts[b]! += 1 + Math.floor(r() * 50);
      }
      const m = binMoments(counts);
      const ranges = hfmgSearchRange(counts);
      expect(ranges.length).toBeGreaterThan(10);
      for (const [l, rr] of ranges.filter((_, k) => k % 7 === 0)) {
        for (const dst of [256, 16]) {
          const fast = hfmgLoss(counts, 3e-4, l, rr, dst, m);
          const direct = hfmgLossDirect(counts, 3e-4, l, rr, dst, m);
          expect(Math.abs(fast - direct)).toBeLessThanOrEqual(1e-11 * direct);
        }
      }
    }
  });

  it('search: pruning by the clipping error keeps the first minimum of the full scan', () => {
    const r = rng(5);
    const counts = new Float64Array(2048);
    for (let i = 0; i < 50000; i++) {
      const u = r() - 0.5;
      const b = Math.floor((Math.sign(u) * Math.log1p(-2 * Math.abs(u) * 0.999) * -0.06 + 0.5) * 2048);
      if (b >= 0 && b < 2048) counts[b]! += 3;
    }
    const res = hfmgSearch(counts, -1, 1, false, 8);
    const m = binMoments(counts);
    const losses = hfmgSearchRange(counts).map(([l, rr]) => hfmgLoss(counts, hfmgBinWidth(-1, 1, 2048), l, rr, 256, m));
    let best = 0;
    losses.forEach((v, k) => { if (v < losses[best]!) best = k; });
    expect(res.diag.bestIndex).toBe(best);
    expect(res.diag.evaluated).toBeLessThan(losses.length);
  });

  it('collect: the one-pass batch (inside the running range) equals AMCT\'s re-histogram + merge', () => {
    const r = rng(9);
    const a = createHfmgHistogram(4096), b = createHfmgHistogram(4096);
    const bad = { nan: 0, inf: 0 };
    for (let k = 0; k < 12; k++) {
      const scale = k % 3 === 0 ? 1 + k / 4 : 0.8; // some batches widen the range, most stay inside
      const vals = Array.from({ length: 5000 }, () => Math.fround((r() + r() - 1) * scale));
      if (k === 5) vals.splice(2500, 0, NaN, Infinity);
      const data = Float32Array.from(vals);
      hfmgCollectBatch(a, data, bad);
      const fin = data.filter((v) => Number.isFinite(v));
      let mn = Infinity, mx = -Infinity;
      for (const v of fin) { if (v < mn) mn = v; if (v > mx) mx = v; }
      hfmgAddBatch(b, fin, mn, mx);
      expect([a.min, a.max]).toEqual([b.min, b.max]);
      expect(Array.from(a.counts)).toEqual(Array.from(b.counts));
    }
    expect(bad).toEqual({ nan: 1, inf: 1 });
  });
});
