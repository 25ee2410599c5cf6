import type { ActivationTensor, TensorRange } from './tensor';
import type { Logger } from './logger';
import type { OptionsSchema } from './options-schema';

/** The collector API version this core implements. Plugins declare the version they were written for. */
export const COLLECTOR_API_VERSION = 1;

/** What the framework knows about a tensor a collector calibrates. */
export interface TensorInfo {
  /** The ONNX tensor name (also the table key). */
  readonly name: string;
  /** Name of the producing node; '' for a graph input. */
  readonly opName: string;
  /** Op type of the producing node; 'Input' for a graph input. */
  readonly opType: string;
  /** Static shape where known (numbers), symbolic dims as strings, undefined when unknown. */
  readonly shape?: readonly (number | string)[];
  /** Nodes that read this tensor. */
  readonly consumers: readonly { readonly name: string; readonly opType: string }[];
}

/** Given to a collector's factory: what it will calibrate and how to report. */
export interface CollectorContext {
  /** The tensors this collector calibrates (after include/exclude), in graph order. */
  readonly tensors: readonly TensorInfo[];
  readonly logger: Logger;
  /**
   * Creates another installed collector by name (for collectors that wrap a base collector, such as
   * auto-tune), for the same tensors. Options are validated against that collector's schema.
   * Absent when the caller offers no registry (e.g. the testkit without one).
   */
  readonly createCollector?: (name: string, options?: Readonly<Record<string, unknown>>) => CalibrationCollector;
}

/** One question to {@link TuningContext.distancesMany}: candidate thresholds of `tensor` judged at `consumer`. */
export interface TuningRequest {
  readonly tensor: string;
  readonly consumer: string;
  readonly thresholds: readonly number[];
}

/**
 * Offered at postCollect to collectors that declare `needs.tuning` (auto-tune): runs the consumer
 * ops of a tensor on the stored FP32 reference inputs of the tune samples, with that input
 * fake-quantized at candidate thresholds and the op's weights fake-quantized (int8 per channel).
 */
export interface TuningContext {
  /** How many tune samples are held. */
  readonly numSamples: number;
  // No absMax here: the tuning collector sees every batch in collect() and tracks it itself; core
  // only holds the tune samples.
  /** The consumer nodes of `tensor` that can be run in isolation. */
  consumers(tensor: string): readonly { readonly name: string; readonly opType: string }[];
  /**
   * For each threshold, the distance ‖ref − out‖₂ / ‖ref‖₁ of `consumer`'s output, averaged over
   * the tune samples, when `tensor` is fake-quantized (int8 symmetric, scale 127/T) at that threshold.
   * ref is the op's FP32 output; other activation inputs of the op are fed their FP32 values.
   */
  distances(tensor: string, consumer: string, thresholds: readonly number[]): Promise<number[]>;
  /**
   * {@link distances} for many (tensor, consumer) pairs in one pass over the tune samples: each
   * sample is run through the FP32 model once and dropped, so memory stays one sample's
   * activations. Prefer it to many `distances` calls (each of which is such a pass).
   */
  distancesMany(requests: readonly TuningRequest[]): Promise<number[][]>;
}

/** Given to postCollect: what a collector may need at the end, and nothing more. */
export interface PostCollectContext {
  readonly tensors: readonly TensorInfo[];
  /** Samples and batches seen (over all merged shards). */
  readonly samples: number;
  readonly batches: number;
  readonly logger: Logger;
  /** Present only for collectors whose definition declares `needs.tuning`. */
  readonly tuning?: TuningContext;
  /**
   * How many threads this postCollect may keep busy. Set where the framework runs several
   * postCollects at once (each collect worker's, for its own tensors); absent: the whole machine.
   */
  readonly threads?: number;
}

/** The JSON-serialisable state of a collector, for sharded calibration. */
export type CollectorState = unknown;

/** MXNet's collector contract: `collect` every selected tensor of every batch, `postCollect` once. */
export interface CalibrationCollector {
  /**
   * Called for every calibrated tensor of every batch. `tensor.data` belongs to the runner and is
   * released after the call returns: copy what you keep.
   */
  collect(name: string, opName: string, tensor: ActivationTensor): void | Promise<void>;
  /** Called once after all batches: the range per calibrated tensor. */
  postCollect(ctx: PostCollectContext): Record<string, TensorRange> | Promise<Record<string, TensorRange>>;
  /** The collector's state as a JSON-serialisable value (see `encodeArray` for typed arrays). */
  snapshot?(): CollectorState;
  /** Merges the state of another instance (same options) that saw a later slice of the data. */
  merge?(state: CollectorState): void;
}

/** What a collector needs from the runner. */
export interface CollectorNeeds {
  /**
   * `tensor` (default): the full activation. `range`: only min and max matter, so the runner may
   * compute them in-graph and hand the collector a 2-element tensor `[min, max]`.
   */
  readonly activations?: 'tensor' | 'range';
  /** The collector uses `PostCollectContext.tuning`. */
  readonly tuning?: boolean;
}

/** A collector plugin: plain data plus a factory (see {@link defineCollector}). */
export interface CollectorDefinition<O extends object = Record<string, unknown>> {
  /** Built-ins are bare words (`entropy`); third-party names are namespaced (`acme/percentile`). */
  readonly name: string;
  /** The {@link COLLECTOR_API_VERSION} the plugin was written for. */
  readonly apiVersion: number;
  readonly description?: string;
  readonly optionsSchema: OptionsSchema;
  readonly defaultOptions: Readonly<O>;
  readonly needs?: CollectorNeeds;
  create(options: Readonly<O>, ctx: CollectorContext): CalibrationCollector;
}

/** Identity helper that gives plugin authors type checking; core checks the shape again on load. */
export function defineCollector<O extends object>(definition: CollectorDefinition<O>): CollectorDefinition<O> {
  return Object.freeze({ ...definition });
}
