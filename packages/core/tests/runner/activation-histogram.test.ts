import { createActivationHistogram, addToHistogram, mergeActivationHistograms, createActivationRecorder, mergeHistogramSets, autoStride, mulberry32 } from '@qcal/core';

/** Independent oracle: every finite value's bin on the final grid, counted directly. */
function direct(values: number[], width: number, offset: number, bins: number): number[] {
  const c = new Array<number>(bins).fill(0);
  for (const v of values) if (Number.isFinite(v)) c[Math.floor(v / width) - offset]!++;
  return c;
}

describe('activation histogram (report)', () => {
  it('bins a hand-worked case and re-bins exactly when the range grows', () => {
    const h = createActivationHistogram(4);
    addToHistogram(h, Float32Array.of(0, 1, 2, 3));
    // span 3 over 3 gaps → width 1, bins [0,1) [1,2) [2,3) [3,4)
    expect(h.width).toBe(1);
    expect(h.offset).toBe(0);
    expect(Array.from(h.counts)).toEqual([1, 1, 1, 1]);
    addToHistogram(h, Float32Array.of(7));
    // 0..7 needs 8 bins of width 1: width 2 → [0,2) [2,4) [4,6) [6,8)
    expect(h.width).toBe(2);
    expect(Array.from(h.counts)).toEqual([2, 2, 0, 1]);
    addToHistogram(h, Float32Array.of(-0.5));
    // -0.5..7 at width 2: bins -1..3 = 5 > 4 → width 4: [-4,0) [0,4) [4,8) [8,12)
    expect(h.width).toBe(4);
    expect(h.offset).toBe(-1);
    expect(Array.from(h.counts)).toEqual([1, 4, 1, 0]);
    expect(h.min).toBe(-0.5);
    expect(h.max).toBe(7);
    expect(h.count).toBe(6);
  });

  it('counts NaN and ±Infinity apart and keeps them out of the bins and the range', () => {
    const h = createActivationHistogram(8);
    addToHistogram(h, Float32Array.of(NaN, Infinity, -Infinity, NaN));
    expect(h.width).toBe(0);
    expect([h.nan, h.posInf, h.negInf, h.count]).toEqual([2, 1, 1, 4]);
    addToHistogram(h, Float32Array.of(1, NaN, 2, Infinity));
    expect([h.nan, h.posInf, h.negInf, h.count]).toEqual([3, 2, 1, 8]);
    expect([h.min, h.max]).toEqual([1, 2]);
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('places a constant tensor, zero, denormals and huge values', () => {
    for (const v of [0, 5, -3.25, 1e-45, -1e-40, 3.4e38, -3.4e38]) {
      const h = createActivationHistogram(16);
      addToHistogram(h, new Float32Array(10).fill(v));
      const f = Math.fround(v);
      expect(h.counts.reduce((a, b) => a + b, 0)).toBe(10);
      expect(direct(new Array(10).fill(f), h.width, h.offset, 16)).toEqual(Array.from(h.counts));
    }
  });

  it('equals a direct count on the final grid, whatever the batches, and shards merge to the same', () => {
    const r = mulberry32(7);
    for (let trial = 0; trial < 40; trial++) {
      const bins = 2 + Math.floor(r() * 300);
      const batches: Float32Array[] = [];
      const all: number[] = [];
      const nb = 1 + Math.floor(r() * 6);
      for (let b = 0; b < nb; b++) {
        const scale = 10 ** (r() * 8 - 4);
        const shift = (r() - 0.5) * scale * 4 * (trial % 3);
        const a = new Float32Array(1 + Math.floor(r() * 500));
        for (let i = 0; i < a.length; i++) {
          const u = r();
          a[i] = u < 0.02 ? NaN : u < 0.03 ? Infinity : u < 0.2 ? 0 : shift + (r() - 0.5) * scale;
        }
        // Now and then a constant batch (padding, a dead channel), also first.
        if (r() < 0.25) a.fill(a[0]!);
        batches.push(a);
        all.push(...a);
      }
      const h = createActivationHistogram(bins);
      for (const a of batches) addToHistogram(h, a);
      expect(Array.from(h.counts)).toEqual(direct(all, h.width, h.offset, bins));
      expect(Number.isInteger(Math.log2(h.width))).toBe(true);
      // More than half the bins in use between the finite min and max (the grid is not wasteful).
      if (h.max > h.min) expect(Math.floor(h.max / h.width) - Math.floor(h.min / h.width) + 1).toBeGreaterThan(bins / 2 - 1);
      // Two shards merged = one pass.
      const cut = Math.floor(r() * (nb + 1));
      const s1 = createActivationHistogram(bins);
      const s2 = createActivationHistogram(bins);
      batches.forEach((a, i) => addToHistogram(i < cut ? s1 : s2, a));
      mergeActivationHistograms(s1, s2);
      expect([s1.width, s1.offset, s1.count, s1.nan, s1.posInf, s1.min, s1.max]).toEqual([h.width, h.offset, h.count, h.nan, h.posInf, h.min, h.max]);
      expect(Array.from(s1.counts)).toEqual(Array.from(h.counts));
    }
  });

  it('a constant first batch does not coarsen the grid: either order, and shards merged, end on one grid', () => {
    // Hand-worked, 8 bins. 1 alone gets the constant rule's width 2^(0−16) (grid [1, 1 + 2^-13)).
    // 1 and 1 + 3·2^-16 need only 2^-17: floor((1 + 3·2^-16)/w) − floor(1/w) + 1 is 13 bins at
    // 2^-18 and 7 at 2^-17; so bins [1 + k·2^-17, …): 1 in bin 0, 1 + 3·2^-16 = 1 + 6·2^-17 in bin 6.
    // (Before the fix, a constant first batch kept 2^-16 — the spread fits in its grid — and the
    // result depended on the order of the batches and on how a run was sharded.)
    const c = Float32Array.of(1, 1);
    const spread = Float32Array.of(1 + 3 * 2 ** -16, 1);
    const alone = createActivationHistogram(8);
    addToHistogram(alone, c);
    expect(alone.width).toBe(2 ** -16);
    for (const [a, b] of [[c, spread], [spread, c]] as const) {
      const one = createActivationHistogram(8);
      addToHistogram(one, a);
      addToHistogram(one, b);
      expect([one.width, one.offset, one.count, one.min, one.max]).toEqual([2 ** -17, 2 ** 17, 4, 1, 1 + 3 * 2 ** -16]);
      expect(Array.from(one.counts)).toEqual([3, 0, 0, 0, 0, 0, 1, 0]);
      const s1 = createActivationHistogram(8);
      const s2 = createActivationHistogram(8);
      addToHistogram(s1, a);
      addToHistogram(s2, b);
      mergeActivationHistograms(s1, s2);
      expect([s1.width, s1.offset, s1.count]).toEqual([one.width, one.offset, one.count]);
      expect(Array.from(s1.counts)).toEqual(Array.from(one.counts));
    }
    // Two different constants, merged either way round, and a constant added to a constant.
    const two = createActivationHistogram(8);
    addToHistogram(two, Float32Array.of(2, 2));
    const merged = createActivationHistogram(8);
    addToHistogram(merged, Float32Array.of(1));
    mergeActivationHistograms(merged, two);
    const direct2 = createActivationHistogram(8);
    addToHistogram(direct2, Float32Array.of(2, 1, 2));
    expect([merged.width, merged.offset, Array.from(merged.counts)]).toEqual([direct2.width, direct2.offset, Array.from(direct2.counts)]);
  });

  it('with a stride looks at every n-th block of 16 values only', () => {
    const h = createActivationHistogram(8);
    // Blocks [0,16) and [32,48) of 40 values with stride 2: indices 0..15 and 32..39.
    const x = Float32Array.from({ length: 40 }, (_, i) => (i >= 16 && i < 32 ? NaN : i));
    addToHistogram(h, x, 2);
    expect([h.count, h.nan, h.min, h.max]).toEqual([24, 0, 0, 39]);
  });

  it('a strided sample gives the histogram of the sampled values, also when a batch grows the grid midway', () => {
    const r = mulberry32(7);
    for (let trial = 0; trial < 200; trial++) {
      const stride = 2 + (trial % 9);
      const strided = createActivationHistogram(32);
      const gathered = createActivationHistogram(32);
      for (let b = 0; b < 4; b++) {
        const scale = 10 ** (r() * 4 - 2) * (b + 1);
        const a = Float32Array.from({ length: Math.floor(r() * 2000) }, () => {
          const u = r();
          return u < 0.01 ? NaN : u < 0.015 ? -Infinity : u < 0.1 ? 0 : (r() - 0.4) * scale * (u > 0.995 ? 50 : 1);
        });
        addToHistogram(strided, a, stride);
        // The sample written out by hand: blocks of 16 at multiples of 16·stride.
        addToHistogram(gathered, Float32Array.from(a.filter((_, i) => Math.floor(i / 16) % stride === 0)));
      }
      expect([strided.width, strided.offset, strided.count, strided.nan, strided.negInf, strided.min, strided.max]).toEqual([gathered.width, gathered.offset, gathered.count, gathered.nan, gathered.negInf, gathered.min, gathered.max]);
      expect(Array.from(strided.counts)).toEqual(Array.from(gathered.counts));
    }
  });

  it('the recorder stores occupied bins only and its shards merge to one pass', () => {
    const tensors = [{ name: 't', opName: 'n', opType: 'Relu', consumers: [] }];
    const one = createActivationRecorder(tensors, { bins: 64, stride: 1 });
    const a = createActivationRecorder(tensors, { bins: 64, stride: 1 });
    const b = createActivationRecorder(tensors, { bins: 64, stride: 1 });
    const x = Float32Array.from({ length: 1000 }, (_, i) => Math.max(0, Math.sin(i) * 4));
    const y = Float32Array.from({ length: 1000 }, (_, i) => Math.max(0, Math.cos(i) * 9));
    one.observe('t', x, [1000]);
    one.observe('t', y, [1000]);
    a.observe('t', x, [1000]);
    b.observe('t', y, [1000]);
    const whole = one.result().tensors.t!;
    expect(whole.counts[0]).toBeGreaterThan(0);
    expect(whole.counts[whole.counts.length - 1]).toBeGreaterThan(0);
    expect(whole.counts.reduce((s, c) => s + c, 0)).toBe(2000);
    expect(whole.op).toBe('n');
    const merged = mergeHistogramSets([a.result(), b.result()]).tensors.t!;
    expect({ ...merged }).toEqual({ ...whole });
    expect(whole.values).toBe(2000);
  });

  it('the automatic stride looks at about 16384 values of a tensor per batch, with an odd stride', () => {
    expect([1, 16384, 16385, 32768, 32769, 49153, 1638400].map(autoStride)).toEqual([1, 1, 3, 3, 3, 5, 101]);
    const rec = createActivationRecorder([{ name: 't', opName: 'n', opType: 'Relu', consumers: [] }], { bins: 64 });
    rec.observe('t', new Float32Array(100000).fill(1), [100000]);
    const t = rec.result().tensors.t!;
    // ⌈100000 / 16384⌉ = 7 (odd): blocks 0, 7, 14, … of 16 values: ⌈6250 / 7⌉ = 893 blocks.
    expect([t.count, t.values]).toEqual([893 * 16, 100000]);
  });
});
