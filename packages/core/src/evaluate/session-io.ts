import { toOrtFeeds as toRunnerFeeds } from '../runner/session';
import * as ort from 'onnxruntime-node';
import { DataError, ModelError } from '../errors';
import { decodeModel, encodeModel, loadModel, type OnnxModel } from '../onnx/model';
import { withExternalData } from '../onnx/external-data';
import type { FeedTensor } from '../tensor';

/** A model given as a file path, its bytes, or a decoded model. */
export type ModelSource = string | Uint8Array | OnnxModel;

/** Bytes and decoded model of a {@link ModelSource}; `label` names it in messages. */
export function readModelSource(src: ModelSource, label: string): { bytes: Uint8Array; model: OnnxModel; where: string } {
  if (typeof src === 'string') {
    try {
      const { model, bytes } = loadModel(src);
      return { bytes, model, where: src };
    } catch (err) {
      if (err instanceof ModelError) throw new ModelError(err.message.replace('the model file', `the ${label} model`), { cause: err });
      throw err;
    }
  }
  if (src instanceof Uint8Array) return { bytes: src, model: decodeModel(src, `${label} model`), where: `${label} model` };
  return { bytes: encodeModel(src), model: src, where: `${label} model` };
}

/** A copy of `model` with `names` added as graph outputs (float32, shape left to the runtime). */
export function exposeTensors(model: OnnxModel, names: readonly string[]): OnnxModel {
  const g = model.graph!;
  const have = new Set(g.output.map((o) => o.name));
  const extra = names.filter((n) => !have.has(n)).map((name) => ({ name, type: { tensorType: { elemType: 1 } } }));
  return { ...model, graph: { ...g, output: [...g.output, ...extra] } };
}

/** Creates an onnxruntime session, turning load failures into a ModelError naming the model. */
export async function createSession(bytes: Uint8Array, where: string, options?: ort.InferenceSession.SessionOptions, model?: OnnxModel): Promise<ort.InferenceSession> {
  // External data: onnxruntime reads it from the model's folder itself.
  try {
    return await ort.InferenceSession.create(bytes, withExternalData(options ?? {}, model));
  } catch (err) {
    throw new ModelError(`${where}: onnxruntime cannot load the model: ${(err as Error).message}`, { cause: err });
  }
}

/** One item of evaluation data: feeds by input name, or a data-layer batch ({ ids, feeds }). */
export type EvaluationItem = Record<string, FeedTensor> | { ids: string[]; feeds: Record<string, FeedTensor>; size?: number };

/** onnxruntime feeds for one item. */
export function toOrtFeeds(item: EvaluationItem): { feeds: Record<string, ort.Tensor>; count: number } {
  const isBatch = Array.isArray((item as { ids?: unknown }).ids) && typeof (item as { feeds?: unknown }).feeds === 'object';
  const src = (isBatch ? (item as { feeds: Record<string, FeedTensor> }).feeds : item) as Record<string, FeedTensor>;
  for (const [name, t] of Object.entries(src)) {
    if (!t || typeof t !== 'object' || !('data' in t) || !('dims' in t)) throw new DataError(`evaluation data: input "${name}" is not a tensor ({ type, data, dims })`);
  }
  const feeds = toRunnerFeeds(src);
  const count = isBatch ? (item as { ids: string[] }).ids.length : (src[Object.keys(src)[0] ?? '']?.dims[0] ?? 1);
  return { feeds, count };
}

/** Runs a session, naming the model and the batch in errors. */
export async function runSession(s: ort.InferenceSession, feeds: Record<string, ort.Tensor>, where: string, batch: number): Promise<ort.InferenceSession.ReturnType> {
  try {
    return await s.run(feeds);
  } catch (err) {
    throw new DataError(`${where}: inference failed on evaluation batch ${batch + 1}: ${(err as Error).message}`, { cause: err });
  }
}
