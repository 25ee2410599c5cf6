/** The calibration table formats qcal writes and reads (`--format`, config `formats`). */
export type TableFormat = 'json' | 'tensorrt' | 'tpu-mlir' | 'ort';

/** Every {@link TableFormat}, in the order they are documented. */
export const TABLE_FORMATS: readonly TableFormat[] = ['json', 'tensorrt', 'tpu-mlir', 'ort'];

/** The calibrator algorithms TensorRT names in a calibration cache header. */
export type TrtAlgorithm = 'EntropyCalibration2' | 'EntropyCalibration' | 'MinMaxCalibration' | 'LegacyCalibration';

export const TRT_ALGORITHMS: readonly TrtAlgorithm[] = ['EntropyCalibration2', 'EntropyCalibration', 'MinMaxCalibration', 'LegacyCalibration'];

/** onnxruntime's `CalibrationMethod` names, recorded in `calibration.json`. */
export type OrtCalibrationMethod = 'MinMax' | 'Entropy' | 'Percentile' | 'Distribution';

/** Header fields of a tpu-mlir calibration table (each `# key: value` line). */
export interface TpuMlirHeader {
  /** `# tool:` line. Default `qcal` (plus `meta.qcalVersion` when the table has one). */
  tool?: string;
  /** `# model:` line. Default: the table's `model`. */
  model?: string;
  /** `# quantization threshold calculation method:` line. Default: the table's `collector`. */
  method?: string;
  /** `# histogram number:` line; omitted when unknown. Default: collector option `numBins`. */
  histogramBins?: number;
  /** `# sample number:` line. Default: the table's `samples`. */
  sampleNumber?: number;
  /** `# tune number:` line, written only when set (a tuned table). */
  tuneNumber?: number;
}

/** Options of the table writers. Every field is optional; defaults are documented per field. */
export interface TableFormatOptions {
  /**
   * TensorRT version number in the cache header, `TRT-<trtVersion>-<algorithm>` (TensorRT's
   * `NV_TENSORRT_VERSION`, e.g. 8601 for 8.6.1). Default: the version a read cache carried
   * (`meta.tensorrt.version`), else 8601.
   */
  trtVersion?: number;
  /**
   * Calibrator algorithm in the TensorRT header. TensorRT only uses a cache whose algorithm
   * matches the calibrator class it is given. Default: `meta.tensorrt.algorithm` of a read
   * cache, else from the collector: `minmax` → MinMaxCalibration, anything else (entropy
   * included) → EntropyCalibration2.
   */
  trtAlgorithm?: TrtAlgorithm;
  /** tpu-mlir header fields; see {@link TpuMlirHeader} for the defaults. */
  tpuMlir?: TpuMlirHeader;
  /**
   * `calibration_method` in onnxruntime's calibration.json. Default: `meta.ort.calibrationMethod`
   * of a read file, else from the collector: minmax → MinMax, entropy → Entropy,
   * percentile → Percentile, distribution → Distribution, anything else → MinMax (the only
   * method onnxruntime builds from a bare (lowest, highest) pair).
   */
  ortCalibrationMethod?: OrtCalibrationMethod;
  /** File-name stem instead of the collector name (see {@link collectorFileStem}). */
  stem?: string;
}

/** One output file: `name` is relative to the output directory and may contain one `/`. */
export interface FormatFile {
  name: string;
  data: string | Uint8Array;
}
