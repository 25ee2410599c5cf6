import * as ort from 'onnxruntime-node';
import type { OnnxModel, OnnxValueInfo } from '../onnx/model';
import { encodeModel } from '../onnx/model';
import type { GraphIndex } from '../onnx/graph-index';
import type { OpenedData } from '../data';
import type { FeedTensor } from '../tensor';
import { createSession, runBatch, toOrtFeeds, type SessionSettings } from '../runner/session';

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

/**
 * Runs the FP32 model over the first `numSamples` samples (one at a time: a batch is split on
 * dim 0) with `needed` exposed as outputs, and keeps only those tensors. Graph inputs among
 * `needed` come from the feeds. Memory: numSamples × the needed tensors of one sample.
 */
export async function collectReferences(args: {
  readonly model: OnnxModel;
  readonly index: GraphIndex;
  readonly data: OpenedData;
  readonly needed: ReadonlySet<string>;
  readonly numSamples: number;
  readonly session?: SessionSettings;
  readonly where: string;
}): Promise<SampleValues[]> {
  const { model, index, needed, numSamples } = args;
  if (numSamples <= 0 || needed.size === 0) return [];
  const g = model.graph!;
  const existing = new Set(g.output.map((o) => o.name));
  const fetches = [...needed].filter((n) => !index.tensors.get(n)?.isGraphInput);
  const outputs: OnnxValueInfo[] = [...g.output];
  for (const n of fetches) {
    // The element type only: onnxruntime infers shapes; non-float tensors (dynamic shapes) are kept too.
    if (!existing.has(n)) outputs.push({ name: n, type: { tensorType: { elemType: index.tensors.get(n)?.elemType ?? 1 } } });
  }
  const session = await createSession(encodeModel({ ...model, graph: { ...g, output: outputs } }), args.where, { ...args.session, optimizedModelFilePath: undefined });
  const samples: SampleValues[] = [];
  try {
    for await (const batch of args.data.batches()) {
      for (const feeds of splitFeeds(batch.feeds, batch.size)) {
        const out = await runBatch(session, feeds, fetches, `tune sample ${samples.length + 1}`);
        const values = new Map<string, ort.Tensor>();
        const ortFeeds = toOrtFeeds(feeds);
        for (const n of needed) {
          const v = ortFeeds[n] ?? out[n];
          if (v) values.set(n, v);
        }
        samples.push(values);
        if (samples.length >= numSamples) return samples;
      }
    }
    return samples;
  } finally {
    await session.release();
  }
}
