/** A float32 activation as collectors see it. `data` is only valid during the `collect` call. */
export interface ActivationTensor {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

/** The range a collector chose for one tensor, plus collector-specific extras (MXNet min_max_dict). */
export interface TensorRange {
  min: number;
  max: number;
  [extra: string]: unknown;
}
