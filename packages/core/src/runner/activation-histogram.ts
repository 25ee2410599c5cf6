/**
 * A compact histogram of one activation tensor over every batch of a run, for the report
 * (`report.html`): at most `bins` bins over the running range, re-binned as the range grows.
 *
 * The grid is aligned to powers of two: bin k covers [(offset + k)·width, (offset + k + 1)·width)
 * with `width` a power of two and `offset` an integer. `v / width` is then exact in float64, so
 * every value lands in the bin a single pass over all the data would give; when the range
 * outgrows the grid, the width doubles (until the range fits) and old bins nest exactly into the
 * new ones (global bin g → floor(g / 2^k)). The grid always uses more than half of its bins for
 * the range it covers. Two histograms merge exactly the same way (sharded runs).
 *
 * NaN, +Infinity and -Infinity are counted apart and never binned; min/max are over finite values.
 * With `stride` s > 1 only a sample is looked at (every s-th block of 16 values, see
 * addToHistogram) — counts, non-finite counts included, are then of that sample, and min/max may
 * miss extremes.
 */
export interface ActivationHistogram {
  /** Capacity: the number of bins of the grid. */
  readonly bins: number;
  /** Bin width, a power of two; 0 before the first finite value. */
  width: number;
  /** Global index of bin 0 (see above). */
  offset: number;
  counts: Float64Array;
  /** Values looked at (finite and not). */
  count: number;
  nan: number;
  posInf: number;
  negInf: number;
  /** Finite min and max (+Infinity / -Infinity when there is none). */
  min: number;
  max: number;
}

/** A histogram with no values yet. `bins` must be an integer ≥ 2. */
export function createActivationHistogram(bins = 256): ActivationHistogram {
  if (!Number.isInteger(bins) || bins < 2) throw new RangeError(`histogram bins must be an integer >= 2, got ${bins}`);
  return { bins, width: 0, offset: 0, counts: new Float64Array(bins), count: 0, nan: 0, posInf: 0, negInf: 0, min: Infinity, max: -Infinity };
}

/** 2^e as a float64 (e may be beyond the range a shift can express). */
const pow2 = (e: number): number => 2 ** e;

/**
 * The smallest power-of-two width (≥ atLeast) whose aligned grid of `bins` bins holds [lo, hi].
 * Being the smallest, it depends only on [lo, hi]: one pass, or shards merged, end on the same grid.
 */
function widthFor(lo: number, hi: number, bins: number, atLeast: number): number {
  let w: number;
  // A lower bound: any grid holding [lo, hi] in `bins` bins has width ≥ (hi − lo) / bins.
  if (hi > lo) w = pow2(Math.floor(Math.log2((hi - lo) / bins)));
  else {
    // A constant: a width fine enough to place it (2^-16 of its magnitude), not below float32's smallest subnormal.
    const mag = Math.max(Math.abs(lo), Math.abs(hi));
    w = mag > 0 ? pow2(Math.floor(Math.log2(mag)) - 16) : pow2(-24);
  }
  w = Math.max(w, atLeast, pow2(-149));
  // The smallest power of two that fits (alignment may need one more bin than the span).
  while (Math.floor(hi / w) - Math.floor(lo / w) + 1 > bins) w *= 2;
  return w;
}

/**
 * The width `h`'s data pins down: its grid's once two distinct finite values were binned. While
 * every finite value is one constant c (or none), the grid is provisional — its counts all sit at c,
 * so any finer grid holds them exactly — and the constant rule's width (see widthFor) must not
 * outlive the constant: a later tiny spread (or a shard that saw it) would otherwise get a
 * coarser grid than one pass over the data in another order.
 */
function pinnedWidth(h: ActivationHistogram): number {
  return h.max > h.min ? h.width : 0;
}

/**
 * Re-grids `h` so that its bins cover [lo, hi], with a width of at least `atLeast` and of the one
 * its data pinned (exact: old bins nest into the new ones, since both widths are powers of two;
 * a provisional constant's counts move to the constant's bin).
 */
function regrid(h: ActivationHistogram, lo: number, hi: number, atLeast = 0): void {
  const w = widthFor(lo, hi, h.bins, Math.max(atLeast, pinnedWidth(h)));
  const offset = Math.floor(lo / w);
  const next = new Float64Array(h.bins);
  if (h.width > 0 && h.max > h.min) {
    const factor = w / h.width;
    for (let k = 0; k < h.bins; k++) {
      const c = h.counts[k]!;
      if (c !== 0) next[Math.floor((h.offset + k) / factor) - offset]! += c;
    }
  } else if (h.width > 0) {
    next[Math.floor(h.min / w) - offset] = h.counts.reduce((a, b) => a + b, 0);
  }
  h.counts = next;
  h.width = w;
  h.offset = offset;
}

/** Whether the grid holds [lo, hi] without re-gridding. */
function holds(h: ActivationHistogram, lo: number, hi: number): boolean {
  return h.width > 0 && Math.floor(lo / h.width) >= h.offset && Math.floor(hi / h.width) - h.offset < h.bins;
}

/** Values in one sampled block (one 64-byte cache line of float32). */
export const SAMPLE_BLOCK = 16;
let sampleBuf = new Float32Array(0);

/**
 * Adds the values of `data` to `h`. With `stride` s > 1, a sample: blocks of {@link SAMPLE_BLOCK}
 * consecutive values, every s-th block (indices i with ⌊i / 16⌋ mod s = 0) — whole cache lines, so
 * the sample costs memory traffic in proportion to its size (a plain every-s-th-value stride reads
 * every cache line for s < 16 and measured twice as slow per value looked at).
 */
export function addToHistogram(h: ActivationHistogram, data: Float32Array, stride = 1): void {
  const n = data.length;
  if (stride <= 1) return addSpans(h, data, n, n);
  const step = SAMPLE_BLOCK * stride;
  // Usually every sampled value falls inside the grid: the blocks are binned where they are.
  const i = pinnedWidth(h) > 0 ? binRun(h, data, 0, step, SAMPLE_BLOCK) : 0;
  if (i >= n) return;
  // The rest of the sample from index i, gathered (without a view per block: allocating 16-value
  // subarrays was most of this function's time), takes the re-gridding path. Counts do not depend
  // on the order values come in, nor on where a batch is split: the same histogram as one pass.
  const first = i - (i % step);
  const size = Math.ceil((n - first) / step) * SAMPLE_BLOCK;
  if (sampleBuf.length < size) sampleBuf = new Float32Array(size);
  const buf = sampleBuf;
  let k = 0;
  for (let b = first, j = i; b < n; b += step, j = b) {
    const end = b + SAMPLE_BLOCK < n ? b + SAMPLE_BLOCK : n;
    for (; j < end; j++) buf[k++] = data[j]!;
  }
  addSpans(h, buf.subarray(0, k), k, k);
}

/**
 * Adds the values of `data` in the spans [s, s + block) for s = 0, step, 2·step, … below `data.length`
 * (one span of every value when step = block = length). One pass when the values fall inside the
 * current grid (the usual case after the first batches); a value outside it sends the rest through a
 * min/max scan and one re-grid first.
 */
function addSpans(h: ActivationHistogram, data: Float32Array, step: number, block: number): void {
  const n = data.length;
  if (n === 0) return;
  let i = 0;
  if (pinnedWidth(h) > 0) i = binRun(h, data, 0, step, block);
  if (i >= n) return;
  // Slow path from index i: scan the rest for its finite range, widen the grid once, bin again.
  let lo = h.min;
  let hi = h.max;
  forSpans(data, i, step, block, (v) => {
    if (v - v === 0) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  });
  if (lo <= hi && (!holds(h, lo, hi) || (hi > lo && pinnedWidth(h) === 0))) regrid(h, lo, hi);
  const done = h.width > 0 ? binRun(h, data, i, step, block) : i;
  // Whatever remains is non-finite (or nothing had a finite value yet): count it.
  forSpans(data, done, step, block, (v) => countOne(h, v));
}

/** Calls `f` on every value of the spans (see {@link addSpans}) from index `start` on (slow paths only). */
function forSpans(data: Float32Array, start: number, step: number, block: number, f: (v: number) => void): void {
  const n = data.length;
  for (let s = start - (start % step), i = start; s < n; s += step, i = s) {
    const end = s + block < n ? s + block : n;
    for (; i < end; i++) f(data[i]!);
  }
}

/** Count one value that the fast loop stopped at (non-finite; finite ones are inside the grid by now). */
function countOne(h: ActivationHistogram, v: number): void {
  h.count++;
  if (v !== v) h.nan++;
  else if (v === Infinity) h.posInf++;
  else if (v === -Infinity) h.negInf++;
  else {
    h.counts[Math.floor(v / h.width) - h.offset]!++;
    if (v < h.min) h.min = v;
    if (v > h.max) h.max = v;
  }
}

/** Per-call integer counts (integer increments are cheaper than float64 ones); added into `counts` after. */
let scratch = new Uint32Array(256);

/**
 * The fast loop: bins the values of the spans (see {@link addSpans}) from index `start` (inside a
 * span) while they fall inside the grid; non-finite values are counted on the way. Returns the
 * index of the first finite value outside the grid (or ≥ length).
 * Kept to the bin increment and a min/max compare per value (measured: a zero count, sums for
 * mean and variance each cost about as much again; the report derives those from the bins).
 */
function binRun(h: ActivationHistogram, data: Float32Array, start: number, step: number, block: number): number {
  const bins = h.bins;
  if (scratch.length < bins) scratch = new Uint32Array(bins);
  const c = scratch;
  c.fill(0, 0, bins);
  const inv = 1 / h.width; // exact: width is a power of two
  const offset = h.offset;
  const n = data.length;
  let mn = h.min, mx = h.max, bad = 0;
  let stop = n;
  spans: for (let s = start - (start % step), i = start; s < n; s += step, i = s) {
    const end = s + block < n ? s + block : n;
    for (; i < end; i++) {
      const v = data[i]!;
      const k = Math.floor(v * inv) - offset;
      if (k >= 0 && k < bins) {
        c[k]!++;
        if (v < mn) mn = v;
        if (v > mx) mx = v;
      } else if (v - v === 0) {
        stop = i;
        break spans;
      } else {
        bad++;
        if (v !== v) h.nan++;
        else if (v > 0) h.posInf++;
        else h.negInf++;
      }
    }
  }
  const counts = h.counts;
  let binned = 0;
  for (let k = 0; k < bins; k++) {
    counts[k]! += c[k]!;
    binned += c[k]!;
  }
  h.min = mn;
  h.max = mx;
  h.count += binned + bad;
  return stop;
}

/** Adds `src` into `dst` (same bin capacity); exact on the common (coarser) grid, the same grid one pass over both would end on. */
export function mergeActivationHistograms(dst: ActivationHistogram, src: ActivationHistogram): void {
  if (src.bins !== dst.bins) throw new RangeError(`cannot merge histograms of ${src.bins} and ${dst.bins} bins`);
  if (src.width > 0) {
    const lo = Math.min(dst.min, src.min);
    const hi = Math.max(dst.max, src.max);
    const target = Math.max(pinnedWidth(dst), pinnedWidth(src));
    if (dst.width < target || !holds(dst, lo, hi) || (hi > lo && pinnedWidth(dst) === 0)) regrid(dst, lo, hi, target);
    if (src.max > src.min) {
      const factor = dst.width / src.width;
      for (let k = 0; k < src.bins; k++) {
        const c = src.counts[k]!;
        if (c !== 0) dst.counts[Math.floor((src.offset + k) / factor) - dst.offset]! += c;
      }
    } else {
      // A constant shard: its counts all sit at the constant.
      dst.counts[Math.floor(src.min / dst.width) - dst.offset]! += src.counts.reduce((a, b) => a + b, 0);
    }
  }
  dst.count += src.count;
  dst.nan += src.nan;
  dst.posInf += src.posInf;
  dst.negInf += src.negInf;
  dst.min = Math.min(dst.min, src.min);
  dst.max = Math.max(dst.max, src.max);
}
