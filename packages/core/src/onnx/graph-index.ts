import type { TensorInfo } from '../collector';
import type { TensorElementType } from '../tensor';
import { DataType, toNumber, type OnnxModel, type OnnxNode, type OnnxValueInfo } from './model';
import { inferElementTypes } from './type-inference';

const own = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** Static dims of a value info: numbers where fixed, the symbol name (or '?') where dynamic. */
export function valueInfoDims(vi: OnnxValueInfo): (number | string)[] | undefined {
  const shape = vi.type?.tensorType?.shape;
  if (!shape) return undefined;
  return (shape.dim ?? []).map((d) => (own(d, 'dimValue') ? toNumber(d.dimValue) : own(d, 'dimParam') && d.dimParam ? d.dimParam : '?'));
}

/** ONNX element type code → qcal element type. */
export function elementTypeName(code: number | undefined): TensorElementType {
  switch (code) {
    case DataType.FLOAT: return 'float32';
    case DataType.FLOAT16: return 'float16';
    case DataType.DOUBLE: return 'float64';
    case DataType.INT8: return 'int8';
    case DataType.UINT8: return 'uint8';
    case DataType.INT16: return 'int16';
    case DataType.INT32: return 'int32';
    case DataType.INT64: return 'int64';
    case DataType.BOOL: return 'bool';
    case DataType.STRING: return 'string';
    default: return 'unknown';
  }
}

/** What the index knows about one tensor (value) of the graph. */
export interface IndexedTensor extends TensorInfo {
  /** ONNX element type code (DataType), 0 when unknown. */
  readonly elemType: number;
  /** A weight: an initializer, a Constant output, or computed only from those. */
  readonly isConstant: boolean;
  readonly isGraphInput: boolean;
  readonly isGraphOutput: boolean;
  /** Index of the producing node in graph order (-1 for inputs and initializers). */
  readonly producerIndex: number;
}

/** A graph index: producers, consumers, element types and constness of every tensor. */
export interface GraphIndex {
  readonly tensors: ReadonlyMap<string, IndexedTensor>;
  readonly nodes: readonly OnnxNode[];
  /** Node names, made unique and non-empty (`<opType>_<index>` where the model has none). */
  readonly nodeNames: readonly string[];
  /** Float32 activations that can be calibrated (graph inputs and node outputs), in graph order. */
  readonly calibratable: readonly IndexedTensor[];
  readonly opset: number;
}

/** Builds the index of a model's main graph. */
export function indexGraph(model: OnnxModel): GraphIndex {
  const g = model.graph!;
  const nodes = g.node;
  const initializers = new Set(g.initializer.map((t) => t.name ?? ''));
  const graphInputs = g.input.filter((i) => !initializers.has(i.name));
  const graphOutputs = new Set(g.output.map((o) => o.name));
  const types = inferElementTypes(model);
  const vis = new Map<string, OnnxValueInfo>();
  for (const vi of [...g.valueInfo, ...g.input, ...g.output]) vis.set(vi.name, vi);

  const used = new Set<string>();
  const nodeNames = nodes.map((n, i) => {
    let name = n.name && !used.has(n.name) ? n.name : `${n.opType}_${i}`;
    while (used.has(name)) name = `${name}_`;
    used.add(name);
    return name;
  });

  const consumers = new Map<string, { name: string; opType: string }[]>();
  nodes.forEach((n, i) => {
    for (const inp of n.input) {
      if (!inp) continue;
      let list = consumers.get(inp);
      if (!list) consumers.set(inp, (list = []));
      if (!list.some((c) => c.name === nodeNames[i])) list.push({ name: nodeNames[i]!, opType: n.opType });
    }
  });

  const constant = new Set<string>(initializers);
  const tensors = new Map<string, IndexedTensor>();
  const add = (name: string, opName: string, opType: string, producerIndex: number, isConst: boolean, isInput: boolean): void => {
    const vi = vis.get(name);
    tensors.set(name, {
      name,
      opName,
      opType,
      ...(vi && valueInfoDims(vi) ? { shape: valueInfoDims(vi)! } : {}),
      consumers: consumers.get(name) ?? [],
      elemType: types.get(name) ?? 0,
      isConstant: isConst,
      isGraphInput: isInput,
      isGraphOutput: graphOutputs.has(name),
      producerIndex,
    });
  };
  for (const i of graphInputs) add(i.name, '', 'Input', -1, false, true);
  for (const t of g.initializer) add(t.name ?? '', '', 'Initializer', -1, true, false);
  nodes.forEach((n, i) => {
    const isConst = n.opType === 'Constant' || (n.input.some(Boolean) && n.input.every((x) => !x || constant.has(x)));
    for (const o of n.output) {
      if (!o) continue;
      if (isConst) constant.add(o);
      add(o, nodeNames[i]!, n.opType, i, isConst, false);
    }
  });
  const calibratable = [...tensors.values()].filter((t) => !t.isConstant && t.elemType === DataType.FLOAT);
  const opsetEntry = model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx');
  return { tensors, nodes, nodeNames, calibratable, opset: opsetEntry ? toNumber(opsetEntry.version) : 0 };
}
