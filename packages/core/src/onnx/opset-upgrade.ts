import { ModelError } from '../errors';
import {
  attrFloat, attrInt, attrInts, attrString, getAttribute, makeFloatTensor, opsetVersion,
  type OnnxModel, type OnnxNode, type OnnxTensor,
} from './model';
import { NameScope, int64Vector, intAttr, makeNode, stringAttr } from './graph-builder';
import { inferRanks } from './rank-inference';

/**
 * Default-domain ops whose meaning is the same at every opset from 9 to 13: their versions in
 * that span only add element types, negative axes, optional inputs or clarify wording, so a node
 * of an opset-9..12 model is a valid node of the same op at opset 13 as it is.
 */
const UNCHANGED = new Set([
  'Abs', 'Acos', 'Acosh', 'Add', 'And', 'ArgMax', 'ArgMin', 'Asin', 'Asinh', 'Atan', 'Atanh', 'AveragePool',
  'BatchNormalization', 'BitShift', 'Cast', 'Ceil', 'Celu', 'Compress', 'Concat', 'Constant', 'ConstantOfShape', 'Conv',
  'ConvInteger', 'ConvTranspose', 'Cos', 'Cosh', 'CumSum', 'DepthToSpace', 'DequantizeLinear', 'Det', 'Div',
  'DynamicQuantizeLinear', 'Einsum', 'Elu', 'Equal', 'Erf', 'Exp', 'Expand', 'EyeLike', 'Flatten', 'Floor', 'Gather',
  'GatherElements', 'GatherND', 'Gemm', 'GlobalAveragePool', 'GlobalLpPool', 'GlobalMaxPool', 'Greater',
  'GreaterOrEqual', 'HardSigmoid', 'Identity', 'InstanceNormalization', 'IsInf', 'IsNaN', 'LRN', 'LeakyRelu', 'Less',
  'LessOrEqual', 'Log', 'LpNormalization', 'LpPool', 'MatMul', 'MatMulInteger', 'Max', 'MaxPool', 'MaxRoiPool',
  'MaxUnpool', 'Mean', 'MeanVarianceNormalization', 'Min', 'Mod', 'Mul', 'Multinomial', 'Neg', 'NonMaxSuppression',
  'NonZero', 'Not', 'OneHot', 'Or', 'PRelu', 'Pow', 'QLinearConv', 'QLinearMatMul', 'QuantizeLinear', 'RandomNormal',
  'RandomNormalLike', 'RandomUniform', 'RandomUniformLike', 'Range', 'Reciprocal', 'ReduceL1', 'ReduceL2',
  'ReduceLogSum', 'ReduceLogSumExp', 'ReduceMax', 'ReduceMean', 'ReduceMin', 'ReduceProd', 'ReduceSumSquare', 'Relu',
  'Reshape', 'ReverseSequence', 'RoiAlign', 'Round', 'ScatterElements', 'ScatterND', 'Selu', 'Shape', 'Shrink',
  'Sigmoid', 'Sign', 'Sin', 'Sinh', 'Size', 'Softplus', 'Softsign', 'SpaceToDepth', 'Sqrt', 'StringNormalizer', 'Sub',
  'Sum', 'Tan', 'Tanh', 'TfIdfVectorizer', 'ThresholdedRelu', 'Tile', 'Transpose', 'Where', 'Xor',
]);

/** Ops whose meaning changed between opset 9 and 13, with the opset that changed them. */
const CONVERTED_SINCE: Record<string, number> = {
  Slice: 10, TopK: 10, Upsample: 10, Dropout: 12, Clip: 11, Pad: 11, Resize: 11, Scatter: 11,
  Squeeze: 13, Unsqueeze: 13, Split: 13, ReduceSum: 13, Softmax: 13, LogSoftmax: 13, Hardmax: 13,
};

/** The ops {@link upgradeOpset} converts (with the opset whose change it handles). */
export const OPSET_UPGRADE_CONVERTED_OPS: Readonly<Record<string, number>> = CONVERTED_SINCE;
/** The ops {@link upgradeOpset} keeps as they are (same meaning at opsets 9-13). */
export const OPSET_UPGRADE_UNCHANGED_OPS: ReadonlySet<string> = UNCHANGED;

export interface OpsetUpgradeResult {
  model: OnnxModel;
  from: number;
  to: number;
  /** Nodes rewritten, per op type. */
  converted: Record<string, number>;
}

/**
 * Upgrades a model's default-domain opset (9 to 12) to `target` (13 only), rewriting the ops whose
 * semantics changed (see {@link OPSET_UPGRADE_CONVERTED_OPS}) the way onnx.version_converter
 * does; every tensor of the original graph keeps its name. Models already at `target` or above are
 * returned unchanged. Throws a ModelError naming every op it cannot convert (control flow with
 * subgraphs, ops it does not know, a Dropout whose mask is used), before changing anything.
 * The input model is not modified.
 */
export function upgradeOpset(model: OnnxModel, target = 13): OpsetUpgradeResult {
  const from = opsetVersion(model);
  if (target !== 13) throw new ModelError(`upgradeOpset: only opset 13 is supported as a target, got ${target}`);
  if (from >= target) return { model, from, to: from, converted: {} };
  if (from < 9) throw new ModelError(`model opset ${from}: qcal upgrades opset 9-12 models to 13; convert this one to opset 9 or later first (onnx.version_converter)`);
  const g = model.graph!;
  const bad = new Map<string, string>();
  for (const n of g.node) {
    if (n.domain && n.domain !== 'ai.onnx') continue;
    const since = CONVERTED_SINCE[n.opType];
    if (n.opType === 'Dropout' && n.output[1] && g.node.some((m) => m.input.includes(n.output[1]!))) bad.set('Dropout', 'its mask output is used');
    else if (since === undefined && !UNCHANGED.has(n.opType)) {
      bad.set(n.opType, ['If', 'Loop', 'Scan'].includes(n.opType) ? 'ops with subgraphs are not upgraded' : 'not known to qcal\'s opset converter');
    }
  }
  if (bad.size) {
    throw new ModelError(`cannot upgrade the model from opset ${from} to ${target} (needed for per-channel QuantizeLinear): ${[...bad].map(([op, why]) => `${op} (${why})`).join(', ')}; upgrade the model with onnx.version_converter.convert_version(model, 13) and pass that model`);
  }
  const names = new NameScope(g);
  const ranks = inferRanks(model);
  const inits: OnnxTensor[] = [];
  const nodes: OnnxNode[] = [];
  const converted: Record<string, number> = {};
  const addInt64 = (base: string, v: readonly number[]): string => {
    const name = names.fresh(base);
    inits.push(int64Vector(name, v));
    return name;
  };
  const addFloat = (base: string, v: number): string => {
    const name = names.fresh(base);
    inits.push(makeFloatTensor(name, [], [v]));
    return name;
  };
  const without = (n: OnnxNode, drop: string[]): OnnxNode => ({ ...n, attribute: n.attribute.filter((a) => !drop.includes(a.name)) });
  for (const n of g.node) {
    const since = n.domain && n.domain !== 'ai.onnx' ? undefined : CONVERTED_SINCE[n.opType];
    if (since === undefined || from >= since) { nodes.push(n); continue; }
    converted[n.opType] = (converted[n.opType] ?? 0) + 1;
    const base = n.name || n.output[0] || n.opType;
    switch (n.opType) {
      case 'Slice': {
        const starts = attrInts(n, 'starts') ?? [], ends = attrInts(n, 'ends') ?? [];
        const axes = attrInts(n, 'axes');
        const ins = [n.input[0]!, addInt64(`${base}_starts`, starts), addInt64(`${base}_ends`, ends)];
        if (axes) ins.push(addInt64(`${base}_axes`, axes));
        nodes.push({ ...without(n, ['starts', 'ends', 'axes']), input: ins });
        break;
      }
      case 'TopK':
        nodes.push({ ...without(n, ['k']), input: [n.input[0]!, addInt64(`${base}_k`, [attrInt(n, 'k', 1)])] });
        break;
      case 'Clip': {
        // Opset 6: min/max attributes defaulting to the float range; opset 11: optional inputs.
        const lo = getAttribute(n, 'min') ? addFloat(`${base}_min`, attrFloat(n, 'min', 0)) : '';
        const hi = getAttribute(n, 'max') ? addFloat(`${base}_max`, attrFloat(n, 'max', 0)) : '';
        nodes.push({ ...without(n, ['min', 'max']), input: hi ? [n.input[0]!, lo, hi] : lo ? [n.input[0]!, lo] : [n.input[0]!] });
        break;
      }
      case 'Pad': {
        const pads = attrInts(n, 'pads') ?? [];
        const ins = [n.input[0]!, addInt64(`${base}_pads`, pads)];
        if (getAttribute(n, 'value')) ins.push(addFloat(`${base}_value`, attrFloat(n, 'value', 0)));
        nodes.push({ ...without(n, ['pads', 'value']), input: ins });
        break;
      }
      case 'Dropout':
        // Inference: Dropout is the identity (opset 12 moved ratio to an input; not needed here).
        nodes.push(makeNode('Identity', [n.input[0]!], [n.output[0]!], n.name ?? ''));
        break;
      case 'Upsample':
      case 'Resize': {
        // Upsample-9 and Resize-10 scale with asymmetric coordinates and floor rounding for
        // nearest; Resize-11 defaults to half_pixel / round_prefer_floor, so both are set explicitly.
        const mode = attrString(n, 'mode', 'nearest');
        const attrs = [stringAttr('mode', mode), stringAttr('coordinate_transformation_mode', 'asymmetric')];
        if (mode === 'nearest') attrs.push(stringAttr('nearest_mode', 'floor'));
        nodes.push({ ...n, opType: 'Resize', input: [n.input[0]!, '', n.input[1]!], attribute: attrs });
        break;
      }
      case 'Scatter':
        nodes.push({ ...n, opType: 'ScatterElements' });
        break;
      case 'Squeeze':
      case 'Unsqueeze': {
        const axes = attrInts(n, 'axes');
        nodes.push({ ...without(n, ['axes']), input: axes ? [n.input[0]!, addInt64(`${base}_axes`, axes)] : [n.input[0]!] });
        break;
      }
      case 'Split': {
        const split = attrInts(n, 'split');
        nodes.push({ ...without(n, ['split']), input: split ? [n.input[0]!, addInt64(`${base}_split`, split)] : [n.input[0]!] });
        break;
      }
      case 'ReduceSum': {
        const axes = attrInts(n, 'axes');
        nodes.push({ ...without(n, ['axes']), input: axes ? [n.input[0]!, addInt64(`${base}_axes`, axes)] : [n.input[0]!] });
        break;
      }
      case 'Softmax':
      case 'LogSoftmax':
      case 'Hardmax': {
        // Before 13: the input is coerced to 2-D at `axis` and normalized over the flattened
        // trailing dims. Same as 13's single-axis op when axis is the last dim; otherwise
        // Flatten → op(axis=1) → Reshape back to the input's shape.
        const axis = attrInt(n, 'axis', 1);
        const rank = ranks.get(n.input[0]!);
        const last = axis === -1 || (rank !== undefined && (axis === rank - 1 || axis + rank === rank - 1));
        if (last) { nodes.push({ ...without(n, ['axis']), attribute: [intAttr('axis', -1)] }); break; }
        const flat = names.fresh(`${base}_flat`), soft = names.fresh(`${base}_2d`), shape = names.fresh(`${base}_shape`);
        nodes.push(makeNode('Shape', [n.input[0]!], [shape], names.fresh(`${base}_Shape`)));
        nodes.push(makeNode('Flatten', [n.input[0]!], [flat], names.fresh(`${base}_Flatten`), [intAttr('axis', axis)]));
        nodes.push({ ...n, input: [flat], output: [soft], attribute: [intAttr('axis', 1)] });
        nodes.push(makeNode('Reshape', [soft, shape], [n.output[0]!], names.fresh(`${base}_Reshape`)));
        break;
      }
    }
  }
  const opsetImport = model.opsetImport.map((o) => (!o.domain || o.domain === 'ai.onnx' ? { ...o, version: target } : o));
  const irVersion = Math.max(7, typeof model.irVersion === 'number' ? model.irVersion : model.irVersion ? model.irVersion.toNumber() : 0);
  return {
    model: { ...model, irVersion, opsetImport, graph: { ...g, node: nodes, initializer: [...g.initializer, ...inits] } },
    from,
    to: target,
    converted,
  };
}
