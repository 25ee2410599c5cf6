import { DataType, attrInt, attrInts, getAttribute, type OnnxModel, type OnnxNode } from '../onnx/model';
import type { GraphIndex } from '../onnx/graph-index';

/** Ops that treat dim 0 as an independent batch whatever their attributes (elementwise and per-sample). */
const PER_SAMPLE = new Set([
  'Relu', 'LeakyRelu', 'PRelu', 'Elu', 'Selu', 'Celu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'Clip', 'Abs', 'Neg',
  'Exp', 'Log', 'Sqrt', 'Reciprocal', 'Erf', 'Floor', 'Ceil', 'Round', 'Sign', 'Sin', 'Cos', 'Softplus', 'Softsign', 'Gelu',
  'Mish', 'Identity', 'Dropout', 'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'Conv', 'ConvTranspose',
  'MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'LpPool', 'BatchNormalization', 'InstanceNormalization',
  'LRN', 'Resize', 'Upsample', 'DepthToSpace', 'SpaceToDepth', 'Pad', 'Reshape', 'Flatten',
]);

const REDUCE = new Set(['ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceL1', 'ReduceL2', 'ReduceProd', 'ReduceSumSquare', 'ReduceLogSumExp']);

/**
 * Can the candidates of one sample be stacked along dim 0 and run as one batch? True only for
 * ops that never mix dim 0 (a whitelist, with the axis rules of Softmax, Concat, Transpose,
 * Reduce*, Squeeze/Unsqueeze, Gemm and MatMul). The runner still checks the output shape and
 * falls back to one run per candidate when it does not scale by the number of candidates (e.g. a
 * Reshape to a fixed batch, a Resize with `sizes`), so this rule only has to exclude ops whose
 * output shape would look right while dim 0 is mixed.
 */
export function isBatchable(node: OnnxNode, index: GraphIndex, opModel: OnnxModel): boolean {
  if (node.domain) return false;
  const inputs = opModel.graph!.input;
  // Stacking non-float activations (dynamic shapes, indices) would change their meaning.
  if (inputs.some((i) => i.type?.tensorType?.elemType !== DataType.FLOAT)) return false;
  const first = node.input.find((i) => i && !index.tensors.get(i)?.isConstant);
  const rank = first ? index.tensors.get(first)?.shape?.length : undefined;
  /** Does axis `a` (maybe negative) resolve to 0? Unknown rank with a negative axis: assume it may. */
  const isAxis0 = (a: number): boolean => (a >= 0 ? a === 0 : rank === undefined ? true : a + rank === 0);
  const op = node.opType;
  if (PER_SAMPLE.has(op)) return !(op === 'Flatten' && attrInt(node, 'axis', 1) === 0);
  switch (op) {
    case 'Softmax':
    case 'LogSoftmax':
    case 'Hardmax':
      return !isAxis0(attrInt(node, 'axis', index.opset >= 13 ? -1 : 1));
    case 'Concat':
      return !isAxis0(attrInt(node, 'axis', 0));
    case 'Transpose': {
      const perm = attrInts(node, 'perm');
      return perm !== undefined && perm[0] === 0;
    }
    case 'Squeeze':
    case 'Unsqueeze': {
      const axes = attrInts(node, 'axes');
      return axes !== undefined && !axes.some(isAxis0);
    }
    case 'Gemm':
      return attrInt(node, 'transA', 0) === 0 && !!node.input[1] && !!index.tensors.get(node.input[1])?.isConstant;
    case 'MatMul':
      return !!node.input[1] && !!index.tensors.get(node.input[1])?.isConstant;
    default:
      if (REDUCE.has(op)) {
        const axes = attrInts(node, 'axes');
        return axes !== undefined && !getAttribute(node, 'noop_with_empty_axes') && !axes.some(isAxis0);
      }
      return false;
  }
}
