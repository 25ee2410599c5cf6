import type { Limits } from '../limits';
import type { CollectorRef } from '../plugins/load-collectors';
import type { InputSetting, InputValue, SequenceOptions } from '../data/input-settings';

/** Output formats `--format` accepts. */
export const OUTPUT_FORMATS = ['json', 'tensorrt', 'tpu-mlir', 'ort'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** One slice of a sharded calibration: `index` is 1-based (`--shard 1/4` … `--shard 4/4`, as jest's `--shard`). */
export interface ShardSpec {
  readonly index: number;
  readonly count: number;
}

/**
 * The validated, frozen configuration of a run: file values, overridden by flags, with every
 * default applied (in `CONFIG_DEFAULTS`, one place). Paths are absolute: those from the config file
 * are resolved against its folder, those from flags against the working directory.
 * Optional keys are undefined when neither the file nor a flag set them and there is no default.
 */
export interface ResolvedConfig {
  /** Absolute path of the config file, undefined when none was found. */
  readonly configFile?: string;
  /** Folder of the config file, else the working directory: plugins resolve from here first. */
  readonly configDir: string;
  /** The working directory the run was started in. */
  readonly cwd: string;
  /** The FP32 ONNX model. Required by `calibrate` (see `loadConfig({ require })`). */
  readonly model?: string;
  /** Calibration data: a directory (.npy, .npz, images) or a list file. */
  readonly data?: string;
  /** Preprocessing: a preset name or an object the data source interprets. */
  readonly preprocess?: string | Readonly<Record<string, unknown>>;
  /** Samples to use; undefined = all. */
  readonly numSamples?: number;
  /** Default 1. */
  readonly batchSize: number;
  /** Default false. */
  readonly shuffle: boolean;
  /** Default 0. */
  readonly seed: number;
  /** Collector references as written (validated in shape; options are validated by loadCollectors). Default `["minmax"]`. */
  readonly collectors: readonly CollectorRef[];
  /** Plugin module specifiers/paths (resolved from configDir, then cwd). Default []. */
  readonly plugins: readonly string[];
  /** Run-wide filter; undefined include = every calibratable tensor. */
  readonly include?: readonly string[];
  /** Default []. */
  readonly exclude: readonly string[];
  /** Output directory, absolute. Default `calib-out`. */
  readonly out: string;
  /** Default `["json"]`. */
  readonly formats: readonly OutputFormat[];
  /** Write `<collector>.qdq.onnx`. Default false. */
  readonly qdq: boolean;
  /** Default `smart`. */
  readonly quantizeMode: 'smart' | 'full';
  /** Calibrate every float activation, not only the ones a QDQ model quantizes (when no `include` is given). Default false. */
  readonly allTensors: boolean;
  /** QDQ pass: empirical bias correction on calibration samples. Default false. */
  readonly biasCorrection?: boolean;
  /** QDQ pass: cross-layer equalization of Conv/Gemm pairs through Relu/PRelu/LeakyRelu. */
  readonly crossLayerEqualization?: boolean;
  /** QDQ pass: order-preserving ranges for the inputs of output Softmax / ArgMax. */
  readonly isotone?: boolean;
  /** QDQ pass: SmoothQuant on MatMul/Gemm inputs (true, or its alpha / insertMul). */
  readonly smoothQuant?: boolean | { readonly alpha?: number; readonly insertMul?: boolean };
  /** Fallback search: try the tensors it keeps out of INT8 as 16-bit activations before FP32. Default false. */
  readonly fallbackInt16?: boolean;
  /** QDQ pass: fold constant Mul/Add after a Conv into it. Default true. */
  readonly foldAffine?: boolean;
  /** QDQ pass: narrow ranges to what saturating consumers (Relu, Clip, HardSwish…) and producers can see. Default true. */
  readonly saturationRanges?: boolean;
  /** QDQ pass: a decomposed HardSwish (x·Clip(x+3, 0, 6)/6) is one activation — its inner tensors stay float. Default true. */
  readonly fuseActivations?: boolean;
  /** Compare FP32 and INT8 outputs. Default false. */
  readonly evaluate: boolean;
  /** Target cosine similarity (0, 1] for `smart` mode; undefined = none. */
  readonly targetCos?: number;
  /** Target value of `targetMetric` (the general form of targetCos); undefined = none. */
  readonly target?: number;
  /** Metric the fallback search must reach `target` on: cosine (default), sqnr, ctc-char-accuracy, or a module. */
  readonly targetMetric?: string;
  /** Most layers `smart` mode may keep in float; undefined = no limit. */
  readonly maxFloatLayers?: number;
  readonly shard?: ShardSpec;
  /** Overwrite existing outputs. Default false. */
  readonly force: boolean;
  /** Default false. */
  readonly quiet: boolean;
  /** Evaluation data (defaults to `data` where used). */
  readonly evalData?: string;
  readonly evalSamples?: number;
  /** Per model input: batch axis and/or a value given once (`{ "sr": 16000 }`). */
  readonly inputs?: Readonly<Record<string, InputSetting | InputValue>>;
  /** Stateful/streaming models: outputs fed back as inputs, chunked sequences. */
  readonly sequence?: SequenceOptions;
  /** Seconds one asynchronous collector hook call may take (default 1800; 0 = no limit). */
  readonly hookTimeout?: number;
  /** Size limits over the defaults (see `Limits`). */
  readonly limits?: Readonly<Partial<Limits>>;
  /** Write `<out>/report.html` (and keep the histograms it needs). Default true. */
  readonly report: boolean;
  /** Histograms for the report look at every n-th value; 0 (default) = automatic (about 16384 values per tensor and batch). */
  readonly histogramStride: number;
  /**
   * Fast mode: histogram collectors see about this many values per tensor and batch (every k-th
   * block of 16 values, cut out in-graph, plus exact min/max). Default 16384 (DEFAULT_SAMPLE_VALUES);
   * 0 = every value (`--exact`).
   */
  readonly fastSample: number;
}

/** The data-layer settings of a config (`inputs`, `sequence`), to spread into DataOptions. */
export function inputOptions(cfg: Pick<ResolvedConfig, 'inputs' | 'sequence'>): { inputs?: ResolvedConfig['inputs']; sequence?: SequenceOptions } {
  return { ...(cfg.inputs ? { inputs: cfg.inputs } : {}), ...(cfg.sequence ? { sequence: cfg.sequence } : {}) };
}
