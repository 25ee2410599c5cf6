import * as ort from 'onnxruntime-node';
import { attrString, type OnnxNode } from '../onnx/model';

/**
 * Ops whose output only copies values of their data inputs, whatever the values: auto-tune's
 * squared error of such an op is a closed form, Σᵢ wᵢ·(xᵢ − fq(xᵢ))², where wᵢ is how many output
 * values copy the tuned value xᵢ (the other inputs' values are copied unchanged, so they add 0).
 * Resize and Upsample only in `nearest` mode (their default).
 */
const COPY_OPS = new Set(['Concat', 'Resize', 'Upsample', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Transpose', 'Identity', 'DepthToSpace', 'SpaceToDepth', 'Tile', 'Expand', 'Slice']);

/** Is `node` an op whose output only copies its data inputs' values (see {@link copyWeights})? */
export function isCopyOp(node: OnnxNode): boolean {
  if (node.domain || !COPY_OPS.has(node.opType) || node.output.length !== 1) return false;
  if (node.opType === 'Resize' || node.opType === 'Upsample') return attrString(node, 'mode', 'nearest') === 'nearest';
  return true;
}

/** Largest tensor whose value positions float32 numbers 1..n identify exactly. */
const MAX_CODED = 2 ** 24 - 1;

/**
 * How many times each value of the tuned input `tensor` appears in the output of the copy op in
 * `session` (an op model: its only output is `output`): the op is run once by onnxruntime on the
 * positions 1..n as values (other float inputs 0), and every output position holding k came
 * from value k − 1. Checked against the sample: every such position of the FP32 reference must
 * hold exactly that value (else the op did not copy, and undefined is returned, as for a tensor of
 * more than 2²⁴ − 1 values or a non-float input).
 */
export async function copyWeights(
  session: ort.InferenceSession,
  inputs: readonly string[],
  tensor: string,
  output: string,
  sample: ReadonlyMap<string, ort.Tensor>,
): Promise<Float32Array | undefined> {
  const x = sample.get(tensor);
  const ref = sample.get(output);
  if (!x || !ref || x.type !== 'float32' || ref.type !== 'float32' || x.data.length > MAX_CODED) return undefined;
  const n = x.data.length;
  const feeds: Record<string, ort.Tensor> = {};
  for (const name of inputs) {
    if (name === tensor) { feeds[name] = new ort.Tensor('float32', Float32Array.from({ length: n }, (_, i) => i + 1), x.dims); continue; }
    const v = sample.get(name);
    if (!v || v.type !== 'float32') return undefined;
    feeds[name] = new ort.Tensor('float32', new Float32Array(v.data.length), v.dims);
  }
  const out = (await session.run(feeds, [output]))[output]!;
  const coded = out.data as Float32Array;
  const xs = x.data as Float32Array;
  const r = ref.data as Float32Array;
  if (coded.length !== r.length) return undefined;
  const w = new Float32Array(n);
  for (let p = 0; p < coded.length; p++) {
    const k = coded[p]!;
    if (k === 0) continue;
    const i = k - 1;
    if (!Number.isInteger(i) || i < 0 || i >= n) return undefined;
    const v = xs[i]!;
    if (r[p] !== v && !(Number.isNaN(r[p]!) && Number.isNaN(v))) return undefined;
    w[i] = w[i]! + 1;
  }
  return w;
}
