import { DataType, attrFloat, tensorDims, tensorToFloat32, type OnnxModel } from '../onnx/model';
import type { GraphIndex } from '../onnx/graph-index';
import { directConstant } from './op-model';
import type { PointwiseKind } from './pointwise';

/** An input of a pointwise op: an activation (from the sample) or a constant stored in the model. */
export type PointwiseInput = { readonly activation: string } | { readonly constant: Float32Array; readonly dims: readonly number[] };

/** A consumer op that {@link pointwiseSquaredErrors} evaluates in JavaScript instead of a probe. */
export interface PointwiseOp {
  readonly kind: PointwiseKind;
  /** The data inputs in node order: two for Add/Sub/Mul/Div, one for Relu/Clip. */
  readonly inputs: readonly PointwiseInput[];
  /** Clip's bounds (float32); ±Infinity where absent. */
  readonly lo: number;
  readonly hi: number;
  readonly output: string;
}

const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div']);
/** Opset < 11 Clip defaults: float32's lowest and highest finite values. */
const FLT_MAX = 3.4028234663852886e38;

/**
 * The pointwise description of node `nodeIndex`, or undefined when it is not one of the ops that
 * JavaScript reproduces bit for bit (Add, Sub, Mul, Div, Relu, Clip on float32 tensors, whose
 * non-activation inputs are constants stored directly as float initializers or Constant nodes).
 */
export function pointwiseOpOf(model: OnnxModel, index: GraphIndex, nodeIndex: number): PointwiseOp | undefined {
  const node = index.nodes[nodeIndex]!;
  if (node.domain) return undefined;
  const op = node.opType;
  if (!BINARY.has(op) && op !== 'Relu' && op !== 'Clip') return undefined;
  const output = node.output[0];
  if (!output || node.output.length !== 1 || index.tensors.get(output)?.elemType !== DataType.FLOAT) return undefined;
  const inputOf = (name: string | undefined): PointwiseInput | undefined => {
    if (!name) return undefined;
    const t = index.tensors.get(name);
    if (!t || t.elemType !== DataType.FLOAT) return undefined;
    if (!t.isConstant) return { activation: name };
    const c = directConstant(model, index, name);
    if (!c || (c.dataType ?? 0) !== DataType.FLOAT) return undefined;
    return { constant: tensorToFloat32(c, name), dims: tensorDims(c) };
  };
  /** A Clip bound input: absent gives `fallback`, a stored scalar its float32 value, anything else undefined. */
  const bound = (name: string | undefined, fallback: number): number | undefined => {
    if (!name) return fallback;
    const b = inputOf(name);
    return b && 'constant' in b && b.constant.length === 1 ? b.constant[0]! : undefined;
  };
  if (BINARY.has(op)) {
    if (node.input.length !== 2) return undefined;
    const a = inputOf(node.input[0]);
    const b = inputOf(node.input[1]);
    return a && b ? { kind: op as PointwiseKind, inputs: [a, b], lo: -Infinity, hi: Infinity, output } : undefined;
  }
  const x = inputOf(node.input[0]);
  if (!x || !('activation' in x)) return undefined;
  if (op === 'Relu') return { kind: 'Relu', inputs: [x], lo: -Infinity, hi: Infinity, output };
  if (index.opset < 11) {
    return { kind: 'Clip', inputs: [x], lo: Math.fround(attrFloat(node, 'min', -FLT_MAX)), hi: Math.fround(attrFloat(node, 'max', FLT_MAX)), output };
  }
  const lo = bound(node.input[1], -Infinity);
  const hi = bound(node.input[2], Infinity);
  return lo === undefined || hi === undefined ? undefined : { kind: 'Clip', inputs: [x], lo, hi, output };
}
