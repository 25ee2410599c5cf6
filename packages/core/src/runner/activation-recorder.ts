import type { TensorInfo } from '../collector';
import { addToHistogram, createActivationHistogram, mergeActivationHistograms, type ActivationHistogram } from './activation-histogram';

/** How the runner keeps a histogram per fetched tensor for the report. */
export interface HistogramSettings {
  /** Bins per tensor (default 256). */
  readonly bins?: number;
  /** Look at every `stride`-th value only (default 1: every value). */
  readonly stride?: number;
}

/** One tensor's histogram as stored in `run.json` (counts trimmed to the occupied bins). */
export interface TensorHistogram {
  readonly op: string;
  readonly opType: string;
  /** Dims of the last batch seen. */
  readonly dims: readonly number[];
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
  const stride = settings.stride ?? 1;
  if (!Number.isInteger(stride) || stride < 1) throw new RangeError(`histogram stride must be an integer >= 1, got ${stride}`);
  const state = new Map<string, { info: TensorInfo; h: ActivationHistogram; dims: readonly number[] }>();
  for (const t of tensors) state.set(t.name, { info: t, h: createActivationHistogram(bins), dims: [] });
  let ms = 0;
  return {
    observe(name, data, dims) {
      const s = state.get(name);
      if (!s) return;
      const t0 = performance.now();
      addToHistogram(s.h, data, stride);
      s.dims = dims;
      ms += performance.now() - t0;
    },
    result() {
      const out: Record<string, TensorHistogram> = {};
      for (const [name, { info, h, dims }] of state) out[name] = serializeHistogram(h, info, dims);
      return { bins, stride, ms, tensors: out };
    },
  };
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
  const merged = new Map<string, { h: ActivationHistogram; t: TensorHistogram }>();
  let ms = 0;
  for (const set of sets) {
    if (set.bins !== first.bins || set.stride !== first.stride) throw new RangeError(`cannot merge histograms of ${set.bins} bins / stride ${set.stride} with ${first.bins} bins / stride ${first.stride}`);
    ms += set.ms;
    for (const [name, t] of Object.entries(set.tensors)) {
      const m = merged.get(name);
      if (!m) merged.set(name, { h: deserializeHistogram(t, first.bins), t });
      else mergeActivationHistograms(m.h, deserializeHistogram(t, first.bins));
    }
  }
  const tensors: Record<string, TensorHistogram> = {};
  for (const [name, { h, t }] of merged) tensors[name] = serializeHistogram(h, { opName: t.op, opType: t.opType }, t.dims);
  return { bins: first.bins, stride: first.stride, ms, tensors };
}
