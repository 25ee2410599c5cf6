import { attrInt, type OnnxNode } from '../onnx/model';
import type { GraphIndex } from '../onnx/graph-index';
import type { Constants } from './constants';

export type QuantizeMode = 'smart' | 'full';

/**
 * Ops onnxruntime's CPU provider runs with integer kernels when wrapped in QDQ (its
 * QDQSelectorActionTransformer): the role says which inputs are data and how the node is fused.
 * - weighted: QLinearConv / QLinearConvTranspose / QGemm / QLinearMatMul (input 1 weight, 2 bias)
 * - binary / variadic / unary: QLinearAdd, QLinearMul, QLinearConcat, QLinearAveragePool,
 *   QLinearGlobalAveragePool, QLinearLeakyRelu, QLinearSigmoid
 * - movement: the Q/DQ pair is dropped when input and output share scale and zero point
 * - activation: Relu/Clip folded into the preceding QuantizeLinear when its range makes them no-ops
 */
export const INTEGER_OPS: Readonly<Record<string, 'weighted' | 'binary' | 'variadic' | 'unary' | 'movement' | 'activation'>> = {
  Conv: 'weighted', ConvTranspose: 'weighted', Gemm: 'weighted', MatMul: 'weighted',
  Add: 'binary', Mul: 'binary', Concat: 'variadic',
  AveragePool: 'unary', GlobalAveragePool: 'unary', LeakyRelu: 'unary', Sigmoid: 'unary',
  MaxPool: 'movement', Reshape: 'movement', Transpose: 'movement', Squeeze: 'movement', Unsqueeze: 'movement',
  Flatten: 'movement', Resize: 'movement', Slice: 'movement', Gather: 'movement', Split: 'movement', Expand: 'movement', Tile: 'movement',
  Relu: 'activation', Clip: 'activation',
};

/** Ops whose output values are a subset of their input values: output shares the input's grid. */
export const VALUE_PRESERVING = new Set(['MaxPool', 'Reshape', 'Transpose', 'Squeeze', 'Unsqueeze', 'Flatten', 'Resize', 'Slice', 'Gather', 'Split', 'Expand', 'Tile', 'Identity']);

/** The data inputs of a node (not shapes, axes, scales, roi or Clip bounds). */
export function dataInputs(n: OnnxNode): string[] {
  const role = INTEGER_OPS[n.opType];
  if (role === 'binary' || role === 'variadic') return n.input.filter(Boolean);
  if (role === 'weighted') return n.input.slice(0, 2).filter(Boolean);
  return n.input.slice(0, 1).filter(Boolean);
}

/** Output-channel axis of a weighted op's input 1, or -1 for per-tensor. */
export function weightAxis(n: OnnxNode, rank: number): number {
  switch (n.opType) {
    case 'Conv': return 0;
    // [C_in, C_out/group, k...]: per-channel along C_out only when there is one group.
    case 'ConvTranspose': return attrInt(n, 'group', 1) === 1 ? 1 : -1;
    case 'Gemm': return attrInt(n, 'transB', 0) ? 0 : 1;
    case 'MatMul': return rank === 2 ? 1 : -1;
    default: return -1;
  }
}

export interface QdqPlan {
  /** Activations that get QuantizeLinear/DequantizeLinear. */
  tensors: Set<string>;
  /** Nodes whose constant weights (and biases) are quantized. */
  weighted: Set<OnnxNode>;
  /** Binary nodes whose float constant operands are quantized (so QLinearAdd/Mul can fuse). */
  constOperands: Set<OnnxNode>;
  /** Why a table tensor got no Q/DQ. */
  skipped: Map<string, string>;
}

/**
 * Which tensors and weights to quantize. `ranged` holds the table tensors present in the model
 * and not excluded; `excludedNode` says whether an op must stay float.
 * - full: every ranged activation (graph outputs excepted, see build-qdq).
 * - smart: inputs and outputs of ops with integer kernels, and value-preserving / Relu / Clip
 *   ops next to them, so every Q/DQ pair lets onnxruntime fuse something.
 */
export function planQdq(idx: GraphIndex, consts: Constants, ranged: ReadonlySet<string>, mode: QuantizeMode, excludedNode: (n: OnnxNode) => boolean): QdqPlan {
  const tensors = new Set<string>();
  const weighted = new Set<OnnxNode>();
  const constOperands = new Set<OnnxNode>();
  const skipped = new Map<string, string>();
  const isAct = (x: string): boolean => { const t = idx.tensors.get(x); return !!t && !t.isConstant && t.elemType === 1; };
  if (mode === 'full') for (const t of ranged) tensors.add(t);

  for (const n of idx.nodes) {
    const role = INTEGER_OPS[n.opType];
    if (!role || role === 'movement' || role === 'activation' || excludedNode(n) || (n.domain && n.domain !== 'ai.onnx')) continue;
    const ins = dataInputs(n);
    const acts = ins.filter(isAct);
    if (!acts.length || !acts.every((a) => ranged.has(a))) continue;
    if (role === 'weighted') {
      const w = n.input[1]!;
      if (!isAct(w) && !consts.isFloat(w)) continue;
      if (consts.isFloat(w)) weighted.add(n);
    } else if (role === 'binary') {
      const cs = ins.filter((x) => !isAct(x));
      if (!cs.every((c) => consts.isFloat(c))) continue;
      if (cs.length) constOperands.add(n);
    } else if (ins.some((x) => !isAct(x))) continue;
    if (mode === 'smart') {
      for (const a of acts) tensors.add(a);
      for (const o of n.output) if (o && ranged.has(o)) tensors.add(o);
    }
  }
  if (mode === 'smart') {
    // Value-preserving ops and Relu/Clip next to quantized tensors, in graph order (propagates).
    for (const n of idx.nodes) {
      const role = INTEGER_OPS[n.opType];
      if ((role !== 'movement' && role !== 'activation') || excludedNode(n)) continue;
      const x = n.input[0];
      const y = n.output[0];
      if (x && y && ranged.has(y) && ranged.has(x) && (tensors.has(x) || tensors.has(y))) { tensors.add(x); tensors.add(y); }
    }
  }
  for (const t of ranged) if (!tensors.has(t)) skipped.set(t, 'smart mode: not an input or output of an op onnxruntime runs in integer arithmetic');
  return { tensors, weighted, constOperands, skipped };
}
