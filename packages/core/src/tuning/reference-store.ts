import * as ort from 'onnxruntime-node';
import type { OnnxModel, OnnxValueInfo } from '../onnx/model';
import { encodeModel } from '../onnx/model';
import type { GraphIndex } from '../onnx/graph-index';
import type { OpenedData } from '../data';
import type { FeedTensor } from '../tensor';
import { createSession, runBatch, toOrtFeeds, type SessionSettings } from '../runner/session';
import { collectGarbage } from '../runner/collect-garbage';

/** The values of the needed tensors for one tune sample. */
export type SampleValues = ReadonlyMap<string, ort.Tensor>;

/** Splits a batch's feeds into single samples when every feed is stacked on dim 0. */
function splitFeeds(feeds: Readonly<Record<string, FeedTensor>>, size: number): Record<string, FeedTensor>[] {
  const entries = Object.entries(feeds);
  if (size <= 1 || !entries.every(([, f]) => f.dims[0] === size)) return [{ ...feeds }];
  return Array.from({ length: size }, (_, s) => {
    const one: Record<string, FeedTensor> = {};
    for (const [name, f] of entries) {
      const per = f.data.length / size;
      one[name] = { type: f.type, data: f.data.slice(s * per, (s + 1) * per) as FeedTensor['data'], dims: [1, ...f.dims.slice(1)] };
    }
    return one;
  });
}

/** The reference model: the FP32 model with the needed tensors exposed, and what to fetch. */
export interface ReferenceRunner {
  /**
   * The tune samples one at a time (a batch is split on dim 0); each call starts over. A sample's
   * map is emptied when the next one is asked for: use it before, do not keep it.
   */
  samples(): AsyncGenerator<SampleValues>;
  release(): Promise<void>;
}

/**
 * Prepares to run the FP32 model over the first `numSamples` samples with `needed` exposed as
 * outputs, keeping only those tensors of each sample (graph inputs among them come from the feeds).
 * Samples are produced one at a time, so memory is one sample's needed tensors.
 */
export async function createReferenceRunner(args: {
  readonly model: OnnxModel;
  readonly index: GraphIndex;
  readonly data: OpenedData;
  readonly needed: ReadonlySet<string>;
  readonly numSamples: number;
  readonly session?: SessionSettings;
  readonly where: string;
}): Promise<ReferenceRunner> {
  const { model, index, needed, numSamples } = args;
  const g = model.graph!;
  const existing = new Set(g.output.map((o) => o.name));
  const fetches = [...needed].filter((n) => !index.tensors.get(n)?.isGraphInput);
  const outputs: OnnxValueInfo[] = [...g.output];
  for (const n of fetches) {
    // The element type only: onnxruntime infers shapes; non-float tensors (dynamic shapes) are kept too.
    if (!existing.has(n)) outputs.push({ name: n, type: { tensorType: { elemType: index.tensors.get(n)?.elemType ?? 1 } } });
  }
  let session: ort.InferenceSession | undefined;
  /** The needed tensors of one sample (graph inputs from the feeds, the others fetched). */
  const fetchSample = async (sess: ort.InferenceSession, feeds: Record<string, FeedTensor>, where: string): Promise<Map<string, ort.Tensor>> => {
    const out = await runBatch(sess, feeds, fetches, where);
    const values = new Map<string, ort.Tensor>();
    const ortFeeds = toOrtFeeds(feeds);
    for (const n of needed) {
      const v = ortFeeds[n] ?? out[n];
      if (v) values.set(n, v);
    }
    return values;
  };
  return {
    async *samples() {
      if (numSamples <= 0 || needed.size === 0) return;
      // Without the CPU arena and memory patterns: the arena would keep this pass's peak (every
      // needed tensor of a sample) for the whole tuning, next to the copies the samples hold.
      session ??= await createSession(encodeModel({ ...model, graph: { ...g, output: outputs } }), args.where, { ...args.session, optimizedModelFilePath: undefined, enableCpuMemArena: false, enableMemPattern: false });
      let count = 0;
      for await (const batch of args.data.batches()) {
        for (const feeds of splitFeeds(batch.feeds, batch.size)) {
          // One sample's tensors alive at a time: the previous sample's map was emptied when the
          // consumer asked for this one (its registers may still hold the map, not the tensors);
          // collect it before this run allocates the next.
          collectGarbage();
          const values = await fetchSample(session, feeds, `tune sample ${count + 1}`);
          yield values;
          values.clear();
          if (++count >= numSamples) return;
        }
      }
    },
    async release() {
      await session?.release();
      session = undefined;
    },
  };
}

/** How many samples the data holds, up to `max` (decodes, does not run the model). */
export async function countSamples(data: OpenedData, max: number): Promise<number> {
  let n = 0;
  if (max <= 0) return 0;
  for await (const batch of data.batches()) {
    n += splitFeeds(batch.feeds, batch.size).length;
    if (n >= max) return max;
  }
  return n;
}
