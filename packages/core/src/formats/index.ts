/** Calibration table formats: qcal JSON, TensorRT cache, tpu-mlir cali table, onnxruntime files. */
export type { TableFormat, TableFormatOptions, TrtAlgorithm, OrtCalibrationMethod, TpuMlirHeader, FormatFile } from './types';
export { TABLE_FORMATS, TRT_ALGORITHMS } from './types';
export type { ReadTableOptions } from './table-formats';
export { formatFiles, writeTableFormats, readTableFile, convertTable, isTableFormat, collectorFileStem } from './table-formats';
export type { TableFileKind } from './detect';
export { detectTableFile } from './detect';
export { writeQcalJson, readQcalJson } from './qcal-json';
export { writeTensorrtCache, readTensorrtCache, float32Hex, hexFloat32, DEFAULT_TRT_VERSION } from './tensorrt';
export { writeTpuMlirTable, readTpuMlirTable } from './tpu-mlir';
export { writeOrtJson, writeOrtFlatbuffers, writeOrtCache, readOrtJson, readOrtFlatbuffers, readOrtCache, ORT_FILES } from './ort';
