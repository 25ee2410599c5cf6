/**
 * Auto-tune's candidate evaluation for elementwise consumer ops, in JavaScript: one pass over the
 * tuned tensor per block of values evaluates every candidate threshold (fake quantization, the op,
 * the squared difference to the FP32 reference), with no per-candidate tensors. For these ops the
 * in-graph probe's fake quantization and double-precision difference cost ten times the op itself
 * (measured on the PP-OCRv4 detector: Add/Mul/Div/Clip were 77 % of the op runs' time).
 *
 * Only ops whose float32 result is one correctly rounded IEEE operation per value (Add, Sub, Mul,
 * Div) or a comparison (Relu, Clip): JavaScript computes them in double and rounds to float32
 * (`Math.fround`), which for +, −, ×, ÷ of float32 operands is exactly the float32 operation, so
 * the op outputs are bit for bit those onnxruntime gives. Σ(ref − out)² is summed in double in
 * value order (the probe's ReduceSumSquare sums in another order: the sums agree up to rounding).
 */

/** The elementwise ops this path evaluates. */
export type PointwiseKind = 'Add' | 'Sub' | 'Mul' | 'Div' | 'Relu' | 'Clip';

/** Which inputs of a binary op are the tuned tensor (fake-quantized per candidate). */
export type TunedRole = 'first' | 'second' | 'both';

/**
 * Adds, for each candidate j, Σᵢ (ref[i] − op(fq_j(x[i]), other[i]))² (in double) to `sums[j]`.
 *
 * - `x`: the tuned tensor's FP32 values, already broadcast to the output's shape;
 * - `other`: the binary op's other operand broadcast likewise (ignored for Relu/Clip and `both`);
 * - `scales[j]`: float32 127/T_j; fake quantization is `fakeQuantActivation`'s: round half to even
 *   of fround(x·s), clip to [−128, 127], fround(q / s);
 * - Clip: `lo`/`hi` its bounds (float32).
 *
 * NaN in x stays NaN through fake quantization and the op (Relu and Clip pass it through), so
 * the candidate's sum becomes NaN; ±Infinity is clipped to ±128/s or 127/s like any out-of-range value. A NaN or
 * infinite `ref` or `other` value propagates into the sums the same way.
 */
export function pointwiseSquaredErrors(
  kind: PointwiseKind,
  role: TunedRole,
  x: Float32Array,
  other: Float32Array | undefined,
  ref: Float32Array,
  scales: Float32Array,
  sums: Float64Array,
  lo = -Infinity,
  hi = Infinity,
): void {
  const n = ref.length;
  if (x.length !== n || (other && other.length !== n)) throw new Error(`pointwise: ${x.length} tuned values and ${other?.length ?? 'no'} other values for ${n} outputs`);
  // Blocks keep x, other and ref in cache across the candidates; each candidate's sum still runs
  // in value order (the running sum is carried from block to block).
  const BLOCK = 4096;
  const q = new Float32Array(Math.min(BLOCK, n));
  for (let b = 0; b < n; b += BLOCK) {
    const e = Math.min(n, b + BLOCK);
    for (let j = 0; j < scales.length; j++) {
      quantizeBlock(x, b, e, scales[j]!, q);
      sums[j] = blockSum(kind, role, q, other, ref, b, e, lo, hi, sums[j]!);
    }
  }
}

/** q[i − b] = fround(clip(roundHalfEven(fround(x[i]·s)), −128, 127) / s) for i in [b, e). */
function quantizeBlock(x: Float32Array, b: number, e: number, s: number, q: Float32Array): void {
  for (let i = b; i < e; i++) {
    const y = Math.fround(x[i]! * s);
    let r = Math.round(y);
    // Math.round rounds .5 up; at an exact tie take the even neighbour (numpy's rint).
    if (r - y === 0.5 && (r & 1) !== 0) r -= 1;
    r = r > 127 ? 127 : r < -128 ? -128 : r;
    q[i - b] = r / s;
  }
}

/** `acc` + Σ (ref − op)² over [b, e), added value by value, with the tuned operand's block `q` (float32 values). */
function blockSum(kind: PointwiseKind, role: TunedRole, q: Float32Array, other: Float32Array | undefined, ref: Float32Array, b: number, e: number, lo: number, hi: number, acc: number): number {
  const o = other ?? q;
  switch (kind) {
    case 'Add':
      if (role === 'both') for (let i = b; i < e; i++) { const v = q[i - b]!; const d = ref[i]! - Math.fround(v + v); acc += d * d; }
      else for (let i = b; i < e; i++) { const d = ref[i]! - Math.fround(q[i - b]! + o[i]!); acc += d * d; }
      return acc;
    case 'Mul':
      if (role === 'both') for (let i = b; i < e; i++) { const v = q[i - b]!; const d = ref[i]! - Math.fround(v * v); acc += d * d; }
      else for (let i = b; i < e; i++) { const d = ref[i]! - Math.fround(q[i - b]! * o[i]!); acc += d * d; }
      return acc;
    case 'Sub':
      if (role === 'both') for (let i = b; i < e; i++) { const v = q[i - b]!; const d = ref[i]! - Math.fround(v - v); acc += d * d; }
      else if (role === 'first') for (let i = b; i < e; i++) { const d = ref[i]! - Math.fround(q[i - b]! - o[i]!); acc += d * d; }
      else for (let i = b; i < e; i++) { const d = ref[i]! - Math.fround(o[i]! - q[i - b]!); acc += d * d; }
      return acc;
    case 'Div':
      if (role === 'both') for (let i = b; i < e; i++) { const v = q[i - b]!; const d = ref[i]! - Math.fround(v / v); acc += d * d; }
      else if (role === 'first') for (let i = b; i < e; i++) { const d = ref[i]! - Math.fround(q[i - b]! / o[i]!); acc += d * d; }
      else for (let i = b; i < e; i++) { const d = ref[i]! - Math.fround(o[i]! / q[i - b]!); acc += d * d; }
      return acc;
    case 'Relu':
      for (let i = b; i < e; i++) { const v = q[i - b]!; const d = ref[i]! - (v < 0 ? 0 : v); acc += d * d; }
      return acc;
    case 'Clip':
      for (let i = b; i < e; i++) { const v = q[i - b]!; const d = ref[i]! - (v < lo ? lo : v > hi ? hi : v); acc += d * d; }
      return acc;
  }
}

/**
 * numpy broadcasting of `data` (shape `dims`) to `outDims`: the values laid out as a tensor of
 * `outDims`, or undefined when `dims` does not broadcast to it. Returns `data` itself when the
 * shapes hold the same values in the same order.
 */
export function broadcastTo(data: Float32Array, dims: readonly number[], outDims: readonly number[]): Float32Array | undefined {
  if (dims.length > outDims.length) return undefined;
  const pad = outDims.length - dims.length;
  const full = [...new Array<number>(pad).fill(1), ...dims];
  if (full.some((d, k) => d !== 1 && d !== outDims[k])) return undefined;
  const total = outDims.reduce((a, d) => a * d, 1);
  if (data.length === total) return data;
  // Strides of the source (0 along broadcast axes).
  const strides = new Array<number>(full.length).fill(0);
  let s = 1;
  for (let k = full.length - 1; k >= 0; k--) { strides[k] = full[k] === 1 ? 0 : s; s *= full[k]!; }
  const out = new Float32Array(total);
  const last = outDims.length - 1;
  const inner = last >= 0 ? outDims[last]! : 1;
  const innerStride = last >= 0 ? strides[last]! : 0;
  const idx = new Array<number>(outDims.length).fill(0);
  for (let at = 0; at < total; at += inner) {
    let src = 0;
    for (let k = 0; k < last; k++) src += idx[k]! * strides[k]!;
    if (innerStride === 0) out.fill(data[src]!, at, at + inner);
    else for (let i = 0; i < inner; i++) out[at + i] = data[src + i]!;
    for (let k = last - 1; k >= 0; k--) { if (++idx[k]! < outDims[k]!) break; idx[k] = 0; }
  }
  return out;
}
