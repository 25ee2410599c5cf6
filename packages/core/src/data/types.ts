import type { FeedTensor } from '../tensor';
import type { PreprocessOptions } from './preprocess-options';
import type { InputSetting, InputValue, SequenceOptions } from './input-settings';
import type { Limits } from '../limits';

/** One model input as the data layer needs it (from the ONNX graph). */
export interface ModelInputSpec {
  name: string;
  /** ONNX element type name; anything but the FeedTensor types is rejected. */
  type: 'float32' | 'float16' | 'float64' | 'int8' | 'uint8' | 'int32' | 'int64' | 'bool' | string;
  /** A number is a fixed dim; a string (symbolic) or null is dynamic. */
  dims: readonly (number | string | null)[];
  /**
   * The axis samples stack on; null when the input has none (a scalar). Undefined: inferred from
   * the dims (see inferBatchAxis; 0 for the usual batch-first input).
   */
  batchAxis?: number | null;
}

/** One calibration sample: a feed for every model input. */
export interface Sample {
  /** File path(s) or index, for messages. */
  id: string;
  feeds: Record<string, FeedTensor>;
}

/** Samples stacked on dim 0. `size` is the number of samples (ids.length), not dims[0]. */
export interface Batch {
  ids: string[];
  feeds: Record<string, FeedTensor>;
  size: number;
  /** Sequence mode: the chunk's index in its sequence (0 starts a sequence: feedback inputs hold their initial value). */
  step?: number;
}

/** Programmatic source (onnxruntime's CalibrationDataReader): one sample per item. */
export type DataSource = AsyncIterable<Record<string, FeedTensor>>;

export interface DataOptions {
  /** A directory, a list file, a single .npy/.npz/image file, or a programmatic source. */
  data: string | DataSource;
  /** Image preprocessing: a preset name or individual settings (optionally on top of `preset`). */
  preprocess?: string | PreprocessOptions;
  /** Use at most this many samples (after shuffling). */
  numSamples?: number;
  /** Samples stacked per inference (default 1). */
  batchSize?: number;
  /** Size limits (see `Limits`); the defaults where unset. */
  limits?: Partial<Limits>;
  /** Shuffle the sample list with `seed` before taking numSamples. */
  shuffle?: boolean;
  /** Seed for `shuffle` (default 0). */
  seed?: number;
  /** 1-based contiguous slice `index` of `count` of the selected samples. */
  shard?: { index: number; count: number };
  /** Per model input: batch axis, or a value given once (`{ sr: 16000 }`). */
  inputs?: Readonly<Record<string, InputSetting | InputValue>>;
  /** Streaming/stateful models: chunked sequences with outputs fed back as inputs. */
  sequence?: SequenceOptions;
}

export interface OpenedData {
  /** Number of samples after numSamples/shuffle/shard (undefined for a programmatic source). */
  count: number | undefined;
  /** Fingerprint of the samples' content (sha256 of the bytes of every file used) + options, for reuse caching. */
  fingerprint: string;
  /**
   * Identity of the whole data set before numSamples/shuffle/shard cut it (sample names relative to
   * the data path, count, selection options): every shard of one run has the same. Undefined for a
   * programmatic source.
   */
  dataset?: string;
  /** Batches in a deterministic order; each call starts over. Only one batch is decoded at a time. */
  batches(): AsyncIterable<Batch>;
  /** One line for logs: what was found and how it will be fed. */
  describe: string;
  /**
   * Sequence mode: which outputs feed which inputs, and `update`, to be called with each
   * inference's outputs before the next batch is asked for (the runner does; other consumers
   * that run the model themselves, such as evaluation, keep their own state from `feedback`).
   */
  sequence?: {
    readonly feedback: Readonly<Record<string, string>>;
    update(outputs: Readonly<Record<string, { readonly data: unknown; readonly dims: readonly number[]; readonly type: string }>>): void;
  };
}
