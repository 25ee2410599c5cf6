/**
 * Pure quantization kernels for the QDQ writer: activation scale/zero point from a range,
 * per-channel symmetric int8 weights, int32 biases. No I/O, no ONNX objects.
 *
 * Rounding is round-half-to-even, as ONNX QuantizeLinear and onnxruntime's quantizer do.
 */

export type ActivationType = 'uint8' | 'int8';

export interface QuantParams {
  /** `int16`: the 16-bit fallback of a sensitive tensor (symmetric, zero point 0; see QdqOptions.int16). */
  readonly type: ActivationType | 'int16';
  readonly scale: number;
  readonly zeroPoint: number;
}

/** Smallest scale written: a zero-width range (a tensor that is constant 0) still needs scale > 0. */
export const MIN_SCALE = 1e-8;

/** Round half to even. */
export function roundEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Scale and zero point for an activation range [min, max] (finite, min <= max; callers check).
 * - `uint8`: asymmetric over [min(min,0), max(max,0)]: scale = (hi-lo)/255, zero point
 *   round(-lo/scale) clamped to 0..255. A symmetric range [-t, t] gives scale 2t/255 and zero point
 *   128 (127.5 rounded half-to-even; the representable range is then [-t·256/255, t·254/255]).
 *   A non-negative range [0, t] gives zero point 0, so a following Relu is a no-op onnxruntime drops.
 * - `int8`: symmetric: scale = max(|min|,|max|)/127, zero point 0 (MXNet / TensorRT int8).
 */
export function activationParams(min: number, max: number, type: ActivationType): QuantParams {
  if (type === 'int8') {
    const t = Math.max(Math.abs(min), Math.abs(max));
    return { type, scale: Math.max(t / 127, MIN_SCALE), zeroPoint: 0 };
  }
  const lo = Math.min(min, 0), hi = Math.max(max, 0);
  const scale = Math.max((hi - lo) / 255, MIN_SCALE);
  const zeroPoint = Math.min(255, Math.max(0, roundEven(-lo / scale)));
  return { type, scale, zeroPoint };
}

/** 16-bit symmetric parameters for a range: scale = max(|min|, |max|)/32767, zero point 0. */
export function int16Params(min: number, max: number): QuantParams {
  return { type: 'int16', scale: Math.max(Math.max(Math.abs(min), Math.abs(max)) / 32767, MIN_SCALE), zeroPoint: 0 };
}

/** Float32 rounding of a scale, so integer biases use exactly the scales written to the model. */
export const f32 = Math.fround;

export interface PerChannelWeights {
  /** int8 values, same layout as the input. */
  readonly values: Int8Array;
  /** One scale per channel along `axis` (length 1 for per-tensor). */
  readonly scales: Float32Array;
  readonly axis: number;
}

/**
 * Symmetric int8 weights, per channel along `axis` (or per tensor when `axis` is -1): scale =
 * max|w|/127 over the channel (max-abs, as AMCT's ARQ and onnxruntime's per-channel quantizer),
 * q = clamp(roundEven(w/scale), -qmax, qmax). Dequantized values are within scale/2 of the input.
 * `qmax` is 127, or 64 for onnxruntime's reduce_range (7-bit weights, see QdqOptions.reduceRange).
 * An all-zero channel gets scale 1 (any scale represents it exactly). NaN weights are an error
 * for the caller to report; here they map to 0.
 */
export function quantizeWeights(w: Float32Array, dims: readonly number[], axis: number, qmax = 127): PerChannelWeights {
  const channels = axis < 0 ? 1 : dims[axis]!;
  const inner = axis < 0 ? w.length : dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = axis < 0 ? 1 : dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const maxAbs = new Float64Array(channels);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const base = (o * channels + c) * inner;
      let m = maxAbs[c]!;
      for (let i = 0; i < inner; i++) { const a = Math.abs(w[base + i]!); if (a > m) m = a; }
      maxAbs[c] = m;
    }
  }
  const scales = new Float32Array(channels);
  for (let c = 0; c < channels; c++) scales[c] = maxAbs[c]! > 0 ? maxAbs[c]! / qmax : 1;
  const values = new Int8Array(w.length);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const base = (o * channels + c) * inner;
      const s = scales[c]!;
      for (let i = 0; i < inner; i++) {
        const q = roundEven(w[base + i]! / s);
        values[base + i] = Number.isNaN(q) ? 0 : Math.max(-qmax, Math.min(qmax, q));
      }
    }
  }
  return { values, scales, axis };
}

/**
 * int32 bias for a quantized Conv/Gemm: scale_c = inputScale × weightScale_c (as float32, the
 * way the model stores both), q = roundEven(b / scale_c), clamped to the int32 range.
 */
export function quantizeBias(b: Float32Array, inputScale: number, weightScales: Float32Array): { values: Int32Array; scales: Float32Array } {
  const scales = new Float32Array(b.length);
  const values = new Int32Array(b.length);
  for (let c = 0; c < b.length; c++) {
    const s = f32(f32(inputScale) * (weightScales.length === 1 ? weightScales[0]! : weightScales[c]!));
    scales[c] = s;
    const q = s > 0 ? roundEven(b[c]! / s) : 0;
    values[c] = Math.max(-2147483648, Math.min(2147483647, Number.isFinite(q) ? q : 0));
  }
  return { values, scales };
}
