import type { TensorInfo } from '../collector';
import type { TensorElementType } from '../tensor';
import { DataType, toNumber, type OnnxGraph, type OnnxModel, type OnnxNode, type OnnxValueInfo } from './model';
import { nodeReads, subgraphsOf } from './subgraphs';
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
  /** Index of the producing node in the main graph (-1 for inputs, initializers and tensors inside subgraphs). */
  readonly producerIndex: number;
  /**
   * The subgraph holding the tensor: '' for the main graph, else the path of owner node names and
   * attributes, e.g. `If_0/then_branch` or `Loop_3/body/If_1/else_branch`.
   */
  readonly graphPath: string;
}

/** A subgraph of the model (an If branch, a Loop or Scan body), nested ones included. */
export interface SubgraphInfo {
  /** `If_0/then_branch` (owner node's unique name, then the attribute). */
  readonly path: string;
  readonly graph: OnnxGraph;
  /** The node holding it, its unique (path-qualified) name, and the path of the graph it lives in. */
  readonly owner: OnnxNode;
  readonly ownerName: string;
  readonly ownerGraphPath: string;
  readonly attribute: string;
  /** Unique path-qualified names of the subgraph's nodes (`If_0/then_branch/Conv_3`). */
  readonly nodeNames: readonly string[];
}

/** A graph index: producers, consumers, element types and constness of every tensor. */
export interface GraphIndex {
  /** Every tensor of the model, those inside subgraphs included (ONNX names are unique model-wide). */
  readonly tensors: ReadonlyMap<string, IndexedTensor>;
  /** The main graph's nodes. */
  readonly nodes: readonly OnnxNode[];
  /** Node names, made unique and non-empty (`<opType>_<index>` where the model has none). */
  readonly nodeNames: readonly string[];
  /**
   * Float32 activations that can be calibrated (graph inputs and node outputs, in subgraphs too),
   * in graph order; a subgraph's tensors come where its owner node is.
   */
  readonly calibratable: readonly IndexedTensor[];
  /** Every If/Loop/Scan body, depth first in graph order. */
  readonly subgraphs: readonly SubgraphInfo[];
  readonly opset: number;
}

function uniqueNames(nodes: readonly OnnxNode[], used: Set<string>, prefix: string): string[] {
  const local = new Set<string>();
  return nodes.map((n, i) => {
    let name = n.name && !local.has(n.name) ? n.name : `${n.opType}_${i}`;
    while (local.has(name) || used.has(prefix + name)) name = `${name}_`;
    local.add(name);
    used.add(prefix + name);
    return prefix + name;
  });
}

/**
 * Builds the index of a model: the main graph and, recursively, the bodies of If/Loop/Scan nodes.
 * A control-flow node reads its explicit inputs and every outer-scope value its bodies read: both
 * make it a consumer, and it is constant only when all of them are.
 */
export function indexGraph(model: OnnxModel): GraphIndex {
  const g = model.graph!;
  const types = inferElementTypes(model);
  const usedNames = new Set<string>();
  const mainNames = uniqueNames(g.node, usedNames, '');
  const graphOutputs = new Set(g.output.map((o) => o.name));
  const consumers = new Map<string, { name: string; opType: string }[]>();
  const constant = new Set<string>();
  const tensors = new Map<string, IndexedTensor>();
  const order: IndexedTensor[] = [];
  const subgraphs: SubgraphInfo[] = [];

  const addConsumer = (inp: string, name: string, opType: string): void => {
    let list = consumers.get(inp);
    if (!list) consumers.set(inp, (list = []));
    if (!list.some((c) => c.name === name)) list.push({ name, opType });
  };
  // Consumers first (over every graph), so each tensor's entry is complete when added.
  const visitConsumers = (nodes: readonly OnnxNode[], names: readonly string[], path: string): void => {
    nodes.forEach((n, i) => {
      for (const inp of nodeReads(n)) addConsumer(inp, names[i]!, n.opType);
      for (const s of subgraphsOf(n)) {
        const sp = `${names[i]!}/${s.attribute}`;
        const sn = uniqueNames(s.graph.node, usedNames, `${sp}/`);
        subgraphs.push({ path: sp, graph: s.graph, owner: n, ownerName: names[i]!, ownerGraphPath: path, attribute: s.attribute, nodeNames: sn });
        visitConsumers(s.graph.node, sn, sp);
      }
    });
  };
  visitConsumers(g.node, mainNames, '');
  const subByGraph = new Map(subgraphs.map((s) => [s.graph, s]));

  const add = (name: string, opName: string, opType: string, producerIndex: number, isConst: boolean, isInput: boolean, graphPath: string, vis: Map<string, OnnxValueInfo>): void => {
    const vi = vis.get(name);
    const t: IndexedTensor = {
      name,
      opName,
      opType,
      ...(vi && valueInfoDims(vi) ? { shape: valueInfoDims(vi)! } : {}),
      consumers: consumers.get(name) ?? [],
      elemType: types.get(name) ?? 0,
      isConstant: isConst,
      isGraphInput: isInput,
      isGraphOutput: graphPath === '' && graphOutputs.has(name),
      producerIndex,
      graphPath,
    };
    tensors.set(name, t);
    order.push(t);
  };
  const visit = (graph: OnnxGraph, names: readonly string[], path: string, outerVis: Map<string, OnnxValueInfo>): void => {
    const vis = new Map(outerVis);
    for (const vi of [...graph.valueInfo, ...graph.input, ...graph.output]) vis.set(vi.name, vi);
    const inits = new Set(graph.initializer.map((t) => t.name ?? ''));
    for (const i of graph.input) {
      if (inits.has(i.name)) continue;
      // A body's own inputs (iteration number, loop-carried values, scan slices) are activations.
      add(i.name, path, path === '' ? 'Input' : 'SubgraphInput', -1, false, path === '', path, vis);
    }
    for (const t of graph.initializer) {
      constant.add(t.name ?? '');
      add(t.name ?? '', '', 'Initializer', -1, true, false, path, vis);
    }
    graph.node.forEach((n, i) => {
      const subs = subgraphsOf(n);
      for (const s of subs) visit(s.graph, subByGraph.get(s.graph)!.nodeNames, subByGraph.get(s.graph)!.path, vis);
      const reads = nodeReads(n);
      const isConst = n.opType === 'Constant' || (reads.length > 0 && reads.every((x) => constant.has(x)) && !subs.some((s) => s.graph.input.length > 0));
      for (const o of n.output) {
        if (!o) continue;
        if (isConst) constant.add(o);
        add(o, names[i]!, n.opType, path === '' ? i : -1, isConst, false, path, vis);
      }
    });
  };
  visit(g, mainNames, '', new Map());
  const calibratable = order.filter((t) => !t.isConstant && t.elemType === DataType.FLOAT);
  const opsetEntry = model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx');
  return { tensors, nodes: g.node, nodeNames: mainNames, calibratable, subgraphs, opset: opsetEntry ? toNumber(opsetEntry.version) : 0 };
}
