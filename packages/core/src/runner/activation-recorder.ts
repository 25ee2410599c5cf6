import type { TensorInfo } from '../collector';
import { addToHistogram, createActivationHistogram, mergeActivationHistograms, type ActivationHistogram } from './activation-histogram';

/** How the runner keeps a histogram per fetched tensor for the report. */
export interface HistogramSettings {
  /** Bins per tensor (default 256). */
  readonly bins?: number;
  /**
   * Look at a sample: every `stride`-th block of 16 consecutive values. 0 (default): automatic,
   * about {@link AUTO_SAMPLE} values of each tensor per batch (stride ⌈n / AUTO_SAMPLE⌉, made odd
   * so that it does not follow even row widths); 1: every value.
   */
  readonly stride?: number;
}

/**
 * About how many values of a tensor per batch the automatic stride looks at. Measured on the
 * PP-OCRv4 recognizer (8 lines, hfmg alone, collect workers on, loaded 2-core machine): the hook
 * runs on the main thread, on the critical path while workers collect; every value: +45 % wall
 * time (2.0–2.5 s of hook for 375 M values); 32768: +12–17 %; this budget about half that.
 * 16384 values per batch still fill 256 bins, and tails build up over the batches.
 */
export const AUTO_SAMPLE = 16384;

/** One tensor's histogram as stored in `run.json` (counts trimmed to the occupied bins). */
export interface TensorHistogram {
  readonly op: string;
  readonly opType: string;
  /** Dims of the last batch seen. */
  readonly dims: readonly number[];
  /** Values the tensor had over all batches; `count` of them were looked at (see the stride). */
  readonly values?: number;
  readonly count: number;
  readonly nan: number;
  readonly posInf: number;
  readonly negInf: number;
  /** Finite min and max seen (null when there was no finite value). */
  readonly min: number | null;
  readonly max: number | null;
  /** counts[k] is the number of values in [(offset + k)·width, (offset + k + 1)·width); width a power of two. */
  readonly width: number;
  readonly offset: number;
  readonly counts: readonly number[];
}

/** The histograms of a run (or a shard), as serialized. */
export interface ActivationHistograms {
  readonly bins: number;
  /** The stride setting: 0 automatic (see HistogramSettings), n every n-th value. */
  readonly stride: number;
  /** Time spent in the histogram hook, ms. */
  readonly ms: number;
  /** Per fetched tensor, in graph order. */
  readonly tensors: Record<string, TensorHistogram>;
}

/** Keeps a histogram per tensor as batches stream by (the runner's report hook). */
export interface ActivationRecorder {
  observe(name: string, data: Float32Array, dims: readonly number[]): void;
  result(): ActivationHistograms;
}

/** A recorder for `tensors` (those the runner fetches in full). */
export function createActivationRecorder(tensors: readonly TensorInfo[], settings: HistogramSettings = {}): ActivationRecorder {
  const bins = settings.bins ?? 256;
  const stride = settings.stride ?? 0;
  if (!Number.isInteger(stride) || stride < 0) throw new RangeError(`histogram stride must be an integer >= 0 (0 = automatic), got ${stride}`);
  const state = new Map<string, { info: TensorInfo; h: ActivationHistogram; dims: readonly number[]; values: number }>();
  for (const t of tensors) state.set(t.name, { info: t, h: createActivationHistogram(bins), dims: [], values: 0 });
  let ms = 0;
  return {
    observe(name, data, dims) {
      const s = state.get(name);
      if (!s) return;
      const t0 = performance.now();
      addToHistogram(s.h, data, stride > 0 ? stride : autoStride(data.length));
      s.dims = dims;
      s.values += data.length;
      ms += performance.now() - t0;
    },
    result() {
      const out: Record<string, TensorHistogram> = {};
      for (const [name, { info, h, dims, values }] of state) out[name] = { ...serializeHistogram(h, info, dims), values };
      return { bins, stride, ms, tensors: out };
    },
  };
}

/** The automatic stride for a tensor of n values: at most AUTO_SAMPLE looked at, odd. */
export function autoStride(n: number): number {
  const s = Math.ceil(n / AUTO_SAMPLE);
  return s <= 1 ? 1 : s % 2 === 0 ? s + 1 : s;
}

/** The stored form: only the occupied span of bins. */
export function serializeHistogram(h: ActivationHistogram, info: Pick<TensorInfo, 'opName' | 'opType'>, dims: readonly number[]): TensorHistogram {
  let first = 0;
  let last = h.bins - 1;
  while (first <= last && h.counts[first] === 0) first++;
  while (last >= first && h.counts[last] === 0) last--;
  return {
    op: info.opName,
    opType: info.opType,
    dims: [...dims],
    count: h.count,
    nan: h.nan,
    posInf: h.posInf,
    negInf: h.negInf,
    min: h.min <= h.max ? h.min : null,
    max: h.min <= h.max ? h.max : null,
    width: h.width,
    offset: first <= last ? h.offset + first : h.offset,
    counts: first <= last ? Array.from(h.counts.subarray(first, last + 1)) : [],
  };
}

/** Back to a live histogram of `bins` bins (for merging shards' histograms). */
export function deserializeHistogram(t: TensorHistogram, bins: number): ActivationHistogram {
  const h = createActivationHistogram(bins);
  h.count = t.count;
  h.nan = t.nan;
  h.posInf = t.posInf;
  h.negInf = t.negInf;
  h.min = t.min ?? Infinity;
  h.max = t.max ?? -Infinity;
  if (t.counts.length) {
    if (t.counts.length > bins) throw new RangeError(`histogram of ${t.counts.length} bins does not fit ${bins}`);
    h.width = t.width;
    h.offset = t.offset;
    h.counts.set(t.counts);
  }
  return h;
}

/** Merges the histograms of several shards (same bins and stride) into one, tensor by tensor. */
export function mergeHistogramSets(sets: readonly ActivationHistograms[]): ActivationHistograms {
  const first = sets[0];
  if (!first) throw new RangeError('no histograms to merge');
  const merged = new Map<string, { h: ActivationHistogram; t: TensorHistogram; values: number }>();
  let ms = 0;
  for (const set of sets) {
    if (set.bins !== first.bins || set.stride !== first.stride) throw new RangeError(`cannot merge histograms of ${set.bins} bins / stride ${set.stride} with ${first.bins} bins / stride ${first.stride}`);
    ms += set.ms;
    for (const [name, t] of Object.entries(set.tensors)) {
      const m = merged.get(name);
      if (!m) merged.set(name, { h: deserializeHistogram(t, first.bins), t, values: t.values ?? t.count });
      else {
        mergeActivationHistograms(m.h, deserializeHistogram(t, first.bins));
        m.values += t.values ?? t.count;
      }
    }
  }
  const tensors: Record<string, TensorHistogram> = {};
  for (const [name, { h, t, values }] of merged) tensors[name] = { ...serializeHistogram(h, { opName: t.op, opType: t.opType }, t.dims), values };
  return { bins: first.bins, stride: first.stride, ms, tensors };
}
