/**
 * Fake-quantization and distance kernels for auto-tune (tpu-mlir SimpleTuner). Pure functions on
 * typed arrays: no I/O, no logging.
 *
 * NaN handling: NaN inputs stay NaN (rounding and clipping keep NaN). ±Infinity is clipped to the
 * int8 range like any other out-of-range value.
 */

/** numpy's `np.round`: round half to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round rounds .5 up; at an exact tie pick the even neighbour.
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Fake-quantizes an activation at threshold `threshold`, as tpu-mlir's `import_quant_bias`
 * (simple_tunner.py): scale = 127/T, round (half to even), clip to [-128, 127], divide by the scale.
 * Computed in float32 like numpy on a float32 array. Writes into `out` (may be `data`).
 */
export function fakeQuantActivation(data: Float32Array, threshold: number, out: Float32Array = new Float32Array(data.length), offset = 0): Float32Array {
  const scale = Math.fround(127 / threshold);
  for (let i = 0; i < data.length; i++) {
    let q = roundHalfEven(Math.fround(data[i]! * scale));
    if (q > 127) q = 127;
    else if (q < -128) q = -128;
    out[offset + i] = q / scale;
  }
  return out;
}

/**
 * Fake-quantizes a weight tensor int8 per channel along `axis`, symmetric max-abs:
 * scale_c = max|w_c| / 127, w ← round(w/scale_c)·scale_c. A channel of zeros stays zero.
 */
export function fakeQuantWeightPerChannel(data: Float32Array, dims: readonly number[], axis: number): Float32Array {
  const rank = dims.length;
  const ax = axis < 0 ? axis + rank : axis;
  const channels = rank === 0 ? 1 : dims[ax] ?? 1;
  let inner = 1;
  for (let d = ax + 1; d < rank; d++) inner *= dims[d]!;
  const absMax = new Float64Array(channels);
  for (let i = 0; i < data.length; i++) {
    const c = Math.floor(i / inner) % channels;
    const a = Math.abs(data[i]!);
    if (a > absMax[c]!) absMax[c] = a;
  }
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const c = Math.floor(i / inner) % channels;
    const m = absMax[c]!;
    if (m === 0 || !Number.isFinite(m)) { out[i] = data[i]!; continue; }
    const scale = m / 127;
    out[i] = Math.max(-127, Math.min(127, roundHalfEven(data[i]! / scale))) * scale;
  }
  return out;
}

/** Running sums for {@link distanceOf}; several outputs of one op accumulate into one distance. */
export interface DistanceSums { sq: number; l1: number }

/** Adds ‖ref − out‖₂² and ‖ref‖₁ over `ref` and `out[offset .. offset+ref.length)`. */
export function accumulateDistance(sums: DistanceSums, ref: Float32Array, out: Float32Array, offset = 0): DistanceSums {
  let sq = 0;
  let l1 = 0;
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i]!;
    const d = r - out[offset + i]!;
    sq += d * d;
    l1 += Math.abs(r);
  }
  sums.sq += sq;
  sums.l1 += l1;
  return sums;
}

/**
 * tpu-mlir's `calc_distance` metric: ‖ref − out‖₂ / ‖ref‖₁. Where the reference is all zeros
 * (‖ref‖₁ = 0) the plain L2 norm is returned, so the metric stays finite (tpu-mlir divides by 0).
 */
export function distanceOf(sums: DistanceSums): number {
  const l2 = Math.sqrt(sums.sq);
  return sums.l1 > 0 ? l2 / sums.l1 : l2;
}
