import type * as ort from 'onnxruntime-node';
import { DataError } from '../errors';
import { runBatch } from '../runner/session';
import type { FeedTensor } from '../tensor';
import type { ModelOutputs, OutputTensor } from './fidelity-metric';

/** One evaluation item: model feeds, or a data-layer batch ({ ids, feeds, size }). */
export type EvalItem = Readonly<Record<string, FeedTensor>> | { readonly ids: readonly string[]; readonly feeds: Readonly<Record<string, FeedTensor>>; readonly size?: number };

/** Evaluation batches held in memory (a small subset), so every configuration sees the same samples. */
export interface EvalSet {
  readonly batches: readonly Readonly<Record<string, FeedTensor>>[];
  /** Samples (rows) over all batches. */
  readonly samples: number;
}

function feedsOf(item: EvalItem): { feeds: Readonly<Record<string, FeedTensor>>; count: number } {
  const b = item as { ids?: unknown; feeds?: unknown; size?: number };
  if (Array.isArray(b.ids) && b.feeds && typeof b.feeds === 'object') return { feeds: b.feeds as Record<string, FeedTensor>, count: b.size ?? b.ids.length };
  const feeds = item as Record<string, FeedTensor>;
  const first = Object.values(feeds)[0];
  if (!first || !('data' in first) || !('dims' in first)) throw new DataError('evaluation data: expected feeds ({ input: { type, data, dims } }) or data-layer batches');
  return { feeds, count: first.dims[0] ?? 1 };
}

/**
 * Reads batches until `maxSamples` samples are held (the batch that crosses the limit is kept
 * whole), then, if `skipSamples` is given, drops the first batches covering that many samples —
 * so one source can give a ranking subset and the held-out samples after it.
 */
export async function collectEvalSet(source: Iterable<EvalItem> | AsyncIterable<EvalItem>, maxSamples: number, skipSamples = 0): Promise<EvalSet> {
  const batches: Record<string, FeedTensor>[] = [];
  let seen = 0, samples = 0;
  for await (const item of source as AsyncIterable<EvalItem>) {
    const { feeds, count } = feedsOf(item);
    seen += count;
    if (seen <= skipSamples) continue;
    batches.push({ ...feeds });
    samples += count;
    if (samples >= maxSamples) break;
  }
  return { batches, samples };
}

/** Runs a session over an evaluation set and copies its outputs (plus `extraFeeds`, e.g. the switch mask). */
export async function runEvalSet(session: ort.InferenceSession, set: EvalSet, outputs: readonly string[], where: string, extraFeeds: Readonly<Record<string, FeedTensor>> = {}): Promise<ModelOutputs[]> {
  const res: ModelOutputs[] = [];
  for (let i = 0; i < set.batches.length; i++) {
    const r = await runBatch(session, { ...set.batches[i]!, ...extraFeeds }, outputs, `${where}, evaluation batch ${i + 1}`);
    const o: Record<string, OutputTensor> = {};
    for (const n of outputs) {
      const t = r[n];
      if (!t) throw new DataError(`${where}: output "${n}" missing from the inference result`);
      o[n] = { data: Float32Array.from(t.data as Float32Array), dims: [...t.dims] };
    }
    res.push(o);
  }
  return res;
}

/** Splits a set after the batch that reaches `samples` samples: [first, rest]. */
export function splitEvalSet(set: EvalSet, samples: number): [EvalSet, EvalSet] {
  let n = 0, i = 0;
  while (i < set.batches.length && n < samples) { n += rowsOf(set.batches[i]!); i++; }
  return [{ batches: set.batches.slice(0, i), samples: n }, { batches: set.batches.slice(i), samples: set.samples - n }];
}

function rowsOf(feeds: Readonly<Record<string, FeedTensor>>): number {
  return Object.values(feeds)[0]?.dims[0] ?? 1;
}
