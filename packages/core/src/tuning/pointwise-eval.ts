import type { PointwiseOp } from './pointwise-op';
import { broadcastTo } from './pointwise';
import type { PointwiseKernel } from './pointwise-wasm';

/** A tensor of a tune sample, as the reference pass gave it (an onnxruntime tensor, or its plain copy in a worker). */
export interface SampleTensor {
  readonly type: string;
  readonly data: unknown;
  readonly dims: readonly number[];
}

/** One (tuned tensor, elementwise consumer) question about one sample. */
export interface PointwiseTask {
  readonly op: PointwiseOp;
  readonly tensor: string;
  /** float32 127/T per candidate. */
  readonly scales: Float32Array;
}

/**
 * Σ(ref − op(fq_j(x), other))² per candidate j of one sample (see pointwiseSquaredErrors), or
 * undefined when the sample's shapes do not broadcast to the reference output's or an operand is
 * not float32 (the op then runs in onnxruntime). `values` gives the sample's tensors by name.
 */
export function pointwiseSums(kernel: PointwiseKernel, task: PointwiseTask, values: (name: string) => SampleTensor | undefined): Float64Array | undefined {
  const { op: pw, tensor, scales } = task;
  const ref = values(pw.output);
  if (!ref || ref.type !== 'float32') return undefined;
  const dims = ref.dims;
  const valuesOf = (inp: PointwiseOp['inputs'][number]): Float32Array | undefined => {
    if ('constant' in inp) return broadcastTo(inp.constant, inp.dims, dims);
    const v = values(inp.activation);
    return v && v.type === 'float32' ? broadcastTo(v.data as Float32Array, v.dims, dims) : undefined;
  };
  const tunedAt = pw.inputs.map((inp) => 'activation' in inp && inp.activation === tensor);
  const k = tunedAt.indexOf(true);
  if (k < 0) return undefined;
  const x = valuesOf(pw.inputs[k]!);
  const role = pw.inputs.length === 1 ? 'first' : tunedAt.every(Boolean) ? 'both' : k === 0 ? 'first' : 'second';
  const other = pw.inputs.length === 2 && role !== 'both' ? valuesOf(pw.inputs[1 - k]!) : undefined;
  if (!x || (pw.inputs.length === 2 && role !== 'both' && !other)) return undefined;
  const sq = new Float64Array(scales.length);
  kernel.squaredErrors(pw.kind, role, x, other, ref.data as Float32Array, scales, sq, pw.lo, pw.hi);
  return sq;
}

/** Do numpy's broadcasting rules take `dims` to `outDims` (as {@link broadcastTo} would)? */
function broadcasts(dims: readonly number[], outDims: readonly number[]): boolean {
  if (dims.length > outDims.length) return false;
  const pad = outDims.length - dims.length;
  return dims.every((d, k) => d === 1 || d === outDims[pad + k]);
}

/** Whether {@link pointwiseSums} gives an answer for the sample, from its tensors' types and shapes only. */
export function pointwiseFits(task: PointwiseTask, values: (name: string) => { readonly type: string; readonly dims: readonly number[] } | undefined): boolean {
  const { op: pw, tensor } = task;
  const ref = values(pw.output);
  if (!ref || ref.type !== 'float32') return false;
  if (!pw.inputs.some((inp) => 'activation' in inp && inp.activation === tensor)) return false;
  return pw.inputs.every((inp) => {
    if ('constant' in inp) return broadcasts(inp.dims, ref.dims);
    const v = values(inp.activation);
    return !!v && v.type === 'float32' && broadcasts(v.dims, ref.dims);
  });
}

/** ‖ref‖₁ in value order (the distance's denominator; the same for every candidate). */
export function absSum(ref: Float32Array): number {
  let v = 0;
  for (let i = 0; i < ref.length; i++) v += Math.abs(ref[i]!);
  return v;
}
