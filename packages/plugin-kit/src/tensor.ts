/** A float32 activation as collectors see it. `data` is only valid during the `collect` call. */
export interface ActivationTensor {
  readonly data: Float32Array;
  readonly dims: readonly number[];
  /**
   * Fast mode (`qcal calibrate --fast`): `data` is a sample of the tensor (every k-th block of values, `dims`
   * its length) and these are the exact finite min and max of all its values. A collector takes its
   * range from them and histograms the sample; one that ignores them sees the sample only.
   */
  readonly extremes?: { readonly min: number; readonly max: number };
}

/** The range a collector chose for one tensor, plus collector-specific extras (MXNet min_max_dict). */
export interface TensorRange {
  min: number;
  max: number;
  [extra: string]: unknown;
}
