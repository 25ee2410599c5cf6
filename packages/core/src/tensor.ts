/** Collector-facing tensor types live in @qcal/plugin-kit; model input types are the engine's. */
export type { ActivationTensor, TensorRange } from '@qcal/plugin-kit';

/** Element types of ONNX TensorProto.DataType that qcal handles. */
export type TensorElementType = 'float32' | 'float16' | 'float64' | 'int8' | 'uint8' | 'int16' | 'int32' | 'int64' | 'bool' | 'string' | 'unknown';

/** A model input value ready for inference. */
export interface FeedTensor {
  readonly type: 'float32' | 'float16' | 'int8' | 'uint8' | 'int32' | 'int64' | 'bool' | 'float64';
  readonly data: Float32Array | Uint16Array | Int8Array | Uint8Array | Int32Array | BigInt64Array | Float64Array;
  readonly dims: readonly number[];
}
