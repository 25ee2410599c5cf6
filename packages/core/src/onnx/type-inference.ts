import { DataType, getAttribute, toNumber, type OnnxGraph, type OnnxModel, type OnnxNode } from './model';
import { subgraphsOf } from './subgraphs';

/** Ops whose every output is int64 whatever the input. */
const INT64_OUT = new Set(['Shape', 'Size', 'NonZero', 'ArgMax', 'ArgMin', 'NonMaxSuppression', 'Unique']);
/** Ops whose output is bool. */
const BOOL_OUT = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor', 'Not', 'IsNaN', 'IsInf']);
/** Ops whose output type follows input 1 rather than input 0. */
const TYPE_FROM_INPUT1 = new Set(['Where', 'Expand']);

/**
 * Element types of every tensor of the model (main graph and nested subgraphs), from graph inputs, initializers, value_info
 * and a propagation over the ops. Most ONNX ops produce the type of their first input; the
 * exceptions that matter for calibration are listed above (and Cast, Constant, ConstantOfShape,
 * QuantizeLinear/DequantizeLinear, TopK/MaxPool second outputs). Unknown stays 0.
 */
export function inferElementTypes(model: OnnxModel): Map<string, number> {
  const types = new Map<string, number>();
  inferGraph(model.graph!, types);
  return types;
}

/**
 * One graph's types into `types` (names are unique across a model and its subgraphs, so one map
 * serves all). Subgraphs are visited where their node is: If takes its outputs' types from
 * then_branch (else_branch when unknown), Loop from its body's outputs after the condition, Scan
 * from its body's outputs. Body inputs take the types of what the node feeds them.
 */
function inferGraph(g: OnnxGraph, types: Map<string, number>): void {
  for (const vi of [...g.input, ...g.valueInfo, ...g.output]) {
    const e = vi.type?.tensorType?.elemType;
    if (e) types.set(vi.name, e);
  }
  for (const t of g.initializer) if (t.name && t.dataType) types.set(t.name, t.dataType);
  for (const n of g.node) {
    const subs = subgraphsOf(n);
    let outs: number[];
    if (subs.length) {
      for (const s of subs) {
        // Body inputs: Loop (iteration int64, cond bool, carried = node inputs 2..), Scan (its inputs).
        s.graph.input.forEach((vi, k) => {
          if (types.has(vi.name)) return;
          const fed = n.opType === 'Loop' ? (k === 0 ? DataType.INT64 : k === 1 ? DataType.BOOL : types.get(n.input[k] ?? '')) : n.opType === 'Scan' ? types.get(n.input[k + (n.input.length - s.graph.input.length)] ?? '') : undefined;
          if (fed) types.set(vi.name, fed);
        });
        inferGraph(s.graph, types);
      }
      const body = subs[0]!.graph;
      const bodyTypes = (g2: OnnxGraph): number[] => g2.output.map((o) => types.get(o.name) ?? 0);
      if (n.opType === 'If') {
        const a = bodyTypes(body);
        const b = subs[1] ? bodyTypes(subs[1].graph) : [];
        outs = n.output.map((_, i) => a[i] || b[i] || 0);
      } else if (n.opType === 'Loop') outs = bodyTypes(body).slice(1);
      else outs = bodyTypes(body);
    } else outs = nodeOutputTypes(n, (name) => types.get(name) ?? 0);
    n.output.forEach((o, i) => {
      if (o && outs[i] && !types.has(o)) types.set(o, outs[i]!);
    });
  }
}

function nodeOutputTypes(n: OnnxNode, typeOf: (name: string) => number): number[] {
  const first = n.input[0] ? typeOf(n.input[0]) : 0;
  const attrType = (name: string): number => {
    const a = getAttribute(n, name);
    return a?.i !== undefined && a.i !== null ? toNumber(a.i) : 0;
  };
  switch (n.opType) {
    case 'Cast':
      return [attrType('to')];
    case 'CastLike':
      return [n.input[1] ? typeOf(n.input[1]) : 0];
    case 'Constant': {
      const a = n.attribute.find((x) => x.name === 'value' || x.name.startsWith('value_'));
      if (!a) return [0];
      if (a.name === 'value') return [a.t?.dataType ?? 0];
      if (a.name === 'value_float' || a.name === 'value_floats') return [DataType.FLOAT];
      if (a.name === 'value_int' || a.name === 'value_ints') return [DataType.INT64];
      if (a.name === 'value_string' || a.name === 'value_strings') return [DataType.STRING];
      return [0];
    }
    case 'ConstantOfShape': {
      const v = getAttribute(n, 'value');
      return [v?.t?.dataType ?? DataType.FLOAT];
    }
    case 'EyeLike':
    case 'RandomUniformLike':
    case 'RandomNormalLike':
      return [attrType('dtype') || first];
    case 'RandomUniform':
    case 'RandomNormal':
      return [attrType('dtype') || DataType.FLOAT];
    case 'Multinomial':
      return [attrType('dtype') || DataType.INT32];
    case 'QuantizeLinear':
      return [n.input[2] ? typeOf(n.input[2]) : DataType.UINT8];
    case 'DequantizeLinear':
      return [n.input[1] ? typeOf(n.input[1]) || DataType.FLOAT : DataType.FLOAT];
    case 'DynamicQuantizeLinear':
      return [DataType.UINT8, DataType.FLOAT, DataType.UINT8];
    case 'TopK':
      return [first, DataType.INT64];
    case 'MaxPool':
      return [first, DataType.INT64];
    case 'Dropout':
      return [first, DataType.BOOL];
    case 'Range':
      return [first];
    default:
      if (INT64_OUT.has(n.opType)) return n.output.map(() => DataType.INT64);
      if (BOOL_OUT.has(n.opType)) return [DataType.BOOL];
      if (TYPE_FROM_INPUT1.has(n.opType)) return [n.opType === 'Expand' ? first : n.input[1] ? typeOf(n.input[1]) : 0];
      if (n.opType === 'Unique') return [first, DataType.INT64, DataType.INT64, DataType.INT64];
      // Default: every output has the type of the first input (Conv, Add, Relu, Reshape, Split, …).
      return n.output.map(() => first);
  }
}
