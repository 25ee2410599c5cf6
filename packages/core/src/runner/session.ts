import * as ort from 'onnxruntime-node';
import type { FeedTensor } from '../tensor';
import { ModelError, CalibrationError, messageOf } from '../errors';
import type { OnnxModel } from '../onnx/model';
import { withExternalData } from '../onnx/external-data';

/** Session options qcal uses by default; callers may override any of them. */
export interface SessionSettings {
  /** onnxruntime graph optimization level. 'all' is safe: exposed tensors are graph outputs and survive fusion. */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Threads for one op; 0 = onnxruntime's default (one per physical core). */
  intraOpNumThreads?: number;
  /** Save the optimized model (to check which kernels onnxruntime picked). */
  optimizedModelFilePath?: string;
  /**
   * Overlap inference with collection (default true): the next batch's inference runs on
   * onnxruntime's worker thread while collectors process the current batch on the JS thread.
   * Collectors still see batches in order; at most two batches of exposed activations are alive.
   */
  overlap?: boolean;
  /**
   * Worker threads for the built-in collectors' collect work (default: one per core but the main
   * thread's, at least 1, at most 4; 0 = on the main thread). Each tensor is collected by one worker,
   * batches in order, buffers transferred without copies; plugins and auto-tune stay on the main thread.
   */
  collectWorkers?: number;
  /** onnxruntime's CPU memory arena (default true). */
  enableCpuMemArena?: boolean;
  /** onnxruntime's memory pattern planning (default true). */
  enableMemPattern?: boolean;
  /**
   * onnxruntime's QDQ graph transformers (default true). They only rewrite QuantizeLinear /
   * DequantizeLinear nodes; on a model without any, turning them off changes nothing but session
   * creation time (measured on the instrumented PP-OCRv4 models: about 15 % less).
   */
  qdqTransformers?: boolean;
  /**
   * Whether onnxruntime's intra-op threads spin while waiting for work (default true, onnxruntime's
   * default). Off for a collect pass whose collectors run on worker threads: spinning threads take
   * the cores the workers need (measured on the recognizer, 30 lines, entropy + hfmg + ifmr, 2 collect
   * workers, loaded 2-core machine: CPU of the pass 7.1–7.4 → 5.4–5.5 s in fast mode, 16.7 → 15.0 s exact).
   */
  intraOpSpinning?: boolean;
  /**
   * Inference worker threads for a collect pass whose collectors need only in-graph min/max
   * (default: one per core, at most 4; 0 = one session on the main thread). Each worker holds a
   * session of the instrumented model with `intraOpNumThreads` threads (default 1) and infers
   * whole batches, side by side; collectors still see batches in order.
   */
  inferenceWorkers?: number;
}

/** Whether a model (its subgraphs included) holds QuantizeLinear or DequantizeLinear nodes. */
export function hasQdqNodes(model: OnnxModel): boolean {
  const visit = (g: NonNullable<OnnxModel['graph']>): boolean => g.node.some((n) => n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear'
    || n.attribute.some((a) => (a.g ? visit(a.g) : false) || (a.graphs ?? []).some(visit)));
  return model.graph ? visit(model.graph) : false;
}

/**
 * The onnxruntime session options for `settings` (qcal's defaults filled in), external data of
 * `model` included: what `createSession` passes, and what an inference worker gets.
 */
export function sessionOptions(settings: SessionSettings = {}, model?: OnnxModel): ort.InferenceSession.SessionOptions {
  const options: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: settings.graphOptimizationLevel ?? 'all',
    executionMode: 'sequential',
    ...(settings.intraOpNumThreads ? { intraOpNumThreads: settings.intraOpNumThreads } : {}),
    ...(settings.enableCpuMemArena !== undefined ? { enableCpuMemArena: settings.enableCpuMemArena } : {}),
    ...(settings.enableMemPattern !== undefined ? { enableMemPattern: settings.enableMemPattern } : {}),
    ...(settings.optimizedModelFilePath ? { optimizedModelFilePath: settings.optimizedModelFilePath } : {}),
    // onnxruntime-node passes `extra` as session config entries (`session.disable_quant_qdq`,
    // `session.intra_op.allow_spinning`).
    ...(settings.qdqTransformers === false || settings.intraOpSpinning === false ? {
      extra: {
        session: {
          ...(settings.qdqTransformers === false ? { disable_quant_qdq: '1' } : {}),
          ...(settings.intraOpSpinning === false ? { intra_op: { allow_spinning: '0' } } : {}),
        },
      },
    } : {}),
  };
  // External data: onnxruntime reads it from the model's folder itself.
  return withExternalData(options, model);
}

/** Creates an onnxruntime-node session from model bytes; `where` names the model in errors. */
export async function createSession(bytes: Uint8Array, where: string, settings: SessionSettings = {}, model?: OnnxModel): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, sessionOptions(settings, model));
  } catch (err) {
    throw new ModelError(`${where}: onnxruntime could not load the model: ${messageOf(err)}`, { cause: err });
  }
}

const VIEW: Record<FeedTensor['type'], new (b: ArrayBufferLike, o: number, n: number) => ArrayBufferView> = {
  float32: Float32Array, float16: Uint16Array, float64: Float64Array, int8: Int8Array, uint8: Uint8Array,
  int32: Int32Array, int64: BigInt64Array, bool: Uint8Array,
};

/**
 * Wraps qcal feeds as onnxruntime tensors without copying. The typed array is re-viewed with this
 * realm's constructor: onnxruntime checks `instanceof`, which fails for arrays made in another
 * realm (a vm context such as jest's, or a worker's transferred buffer).
 */
export function toOrtFeeds(feeds: Readonly<Record<string, FeedTensor>>): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  for (const [name, f] of Object.entries(feeds)) {
    const View = VIEW[f.type];
    const data = f.data instanceof View ? f.data : new View(f.data.buffer, f.data.byteOffset, f.data.length);
    out[name] = new ort.Tensor(f.type, data as never, f.dims as number[]);
  }
  return out;
}

/** Runs one batch and returns the fetched outputs; inference errors name the batch. */
export async function runBatch(
  session: ort.InferenceSession,
  feeds: Readonly<Record<string, FeedTensor>>,
  fetches: readonly string[],
  where: string,
  runOptions?: ort.InferenceSession.RunOptions,
): Promise<ort.InferenceSession.OnnxValueMapType> {
  try {
    return runOptions ? await session.run(toOrtFeeds(feeds), fetches as string[], runOptions) : await session.run(toOrtFeeds(feeds), fetches as string[]);
  } catch (err) {
    throw new CalibrationError(`inference failed on ${where}: ${messageOf(err)}`, { cause: err });
  }
}
