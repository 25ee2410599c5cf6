import { attrInt, attrInts, getAttribute, tensorDims, tensorToFloat32, type OnnxModel, type OnnxNode } from './model';
import { valueInfoDims } from './graph-index';

const SAME_RANK = new Set([
  'Relu', 'Sigmoid', 'Clip', 'HardSigmoid', 'HardSwish', 'BatchNormalization', 'Conv', 'ConvTranspose', 'MaxPool', 'AveragePool',
  'GlobalAveragePool', 'GlobalMaxPool', 'Cast', 'Softmax', 'LogSoftmax', 'Hardmax', 'Sqrt', 'Exp', 'Log', 'Tanh', 'Abs', 'Neg',
  'Identity', 'Dropout', 'Resize', 'Upsample', 'Pad', 'LeakyRelu', 'Elu', 'Selu', 'Erf', 'Floor', 'Ceil', 'Round', 'Slice',
  'Split', 'Concat', 'Tile', 'InstanceNormalization', 'LRN', 'Reciprocal', 'Not', 'Softplus', 'Softsign', 'Sin', 'Cos',
  'LpNormalization', 'DepthToSpace', 'SpaceToDepth', 'CumSum', 'Sign', 'IsNaN', 'IsInf', 'ThresholdedRelu', 'Shrink',
]);
const BROADCAST = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'Where', 'And', 'Or', 'Xor', 'PRelu', 'Mod']);
const REDUCE = new Set(['ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare']);

/**
 * Best-effort static ranks of the main graph's tensors (no values, only how many dims), for
 * rewrites whose correctness depends on the rank (Softmax's axis semantics before opset 13).
 * Tensors whose rank cannot be derived are absent; callers must then use a rank-free rewrite.
 * Also tracks the length of small 1-D integer vectors (shape tensors) so Reshape's rank follows.
 */
export function inferRanks(model: OnnxModel): Map<string, number> {
  const g = model.graph!;
  const rank = new Map<string, number>();
  const len = new Map<string, number>(); // length of 1-D tensors where known
  for (const vi of [...g.input, ...g.valueInfo, ...g.output]) {
    const d = valueInfoDims(vi);
    if (d) rank.set(vi.name, d.length);
  }
  for (const t of g.initializer) {
    const d = tensorDims(t);
    rank.set(t.name ?? '', d.length);
    if (d.length === 1) len.set(t.name ?? '', d[0]!);
  }
  const r = (x: string | undefined): number | undefined => (x ? rank.get(x) : undefined);
  for (const n of g.node) {
    const out = n.output[0];
    if (!out) continue;
    const set = (v: number | undefined, l?: number): void => {
      if (v === undefined || rank.has(out)) return;
      for (const o of n.output) if (o && !rank.has(o)) rank.set(o, v);
      if (l !== undefined && v === 1) len.set(out, l);
    };
    const r0 = r(n.input[0]);
    const op = n.opType;
    if (op === 'Constant') {
      const a = getAttribute(n, 'value');
      if (a?.t) { const d = tensorDims(a.t); set(d.length, d[0]); }
      else if (getAttribute(n, 'value_float') || getAttribute(n, 'value_int')) set(0);
      else if (getAttribute(n, 'value_floats')) set(1, getAttribute(n, 'value_floats')!.floats!.length);
      else if (getAttribute(n, 'value_ints')) set(1, getAttribute(n, 'value_ints')!.ints!.length);
    } else if (op === 'Shape') set(1, r0);
    else if (op === 'Size') set(0);
    else if (op === 'Cast' || op === 'Identity') set(r0, n.input[0] ? len.get(n.input[0]) : undefined);
    else if (op === 'Concat' && r0 === 1) {
      const ls = n.input.map((x) => len.get(x));
      set(1, ls.every((l) => l !== undefined) ? ls.reduce((a, b) => a! + b!, 0) : undefined);
    } else if (SAME_RANK.has(op)) set(r0);
    else if (BROADCAST.has(op)) {
      const rs = n.input.filter(Boolean).map((x) => rank.get(x));
      if (rs.every((v) => v !== undefined)) set(Math.max(...(rs as number[])));
    } else if (op === 'MatMul') {
      const a = r0, b = r(n.input[1]);
      if (a !== undefined && b !== undefined) set(a === 1 && b === 1 ? 0 : a === 1 ? b - 1 : b === 1 ? a - 1 : Math.max(a, b));
    } else if (op === 'Gemm' || op === 'Flatten') set(2);
    else if (op === 'Transpose') set(attrInts(n, 'perm')?.length ?? r0);
    else if (op === 'Reshape') set(n.input[1] ? len.get(n.input[1]) : undefined);
    else if (op === 'Squeeze' || op === 'Unsqueeze') {
      const axes = axesOf(n, model);
      if (r0 !== undefined && axes) set(op === 'Squeeze' ? r0 - axes : r0 + axes, op === 'Unsqueeze' && r0 === 0 ? 1 : undefined);
    } else if (REDUCE.has(op) || op === 'ArgMax' || op === 'ArgMin') {
      const keep = attrInt(n, 'keepdims', 1);
      const axes = op.startsWith('Arg') ? 1 : (attrInts(n, 'axes')?.length ?? (n.input[1] ? undefined : r0));
      if (r0 !== undefined) set(keep ? r0 : axes === undefined ? undefined : r0 - axes);
    } else if (op === 'Gather') {
      const ri = r(n.input[1]);
      if (r0 !== undefined && ri !== undefined) set(r0 - 1 + ri);
    }
  }
  return rank;
}

/** Number of axes of Squeeze/Unsqueeze (attribute before opset 13, constant input after). */
function axesOf(n: OnnxNode, model: OnnxModel): number | undefined {
  const a = attrInts(n, 'axes');
  if (a) return a.length;
  const src = n.input[1];
  if (!src) return undefined;
  const init = model.graph!.initializer.find((t) => t.name === src);
  if (init) return tensorToFloat32(init).length;
  const c = model.graph!.node.find((x) => x.opType === 'Constant' && x.output[0] === src);
  const t = c ? getAttribute(c, 'value')?.t : undefined;
  return t ? tensorToFloat32(t).length : undefined;
}
