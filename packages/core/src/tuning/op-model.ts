import {
  AttributeType,
  DataType,
  attrInt,
  getAttribute,
  makeFloatTensor,
  tensorDims,
  tensorToFloat32,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
  type OnnxValueInfo,
} from '../onnx/model';
import type { GraphIndex } from '../onnx/graph-index';
import { fakeQuantWeightPerChannel } from './fake-quant';
import { isBatchable } from './batchable';

/** A consumer op cut out of the model, ready to run on its own. */
export interface OpModel {
  /** The node's unique name (GraphIndex.nodeNames). */
  readonly name: string;
  readonly opType: string;
  /** The standalone model: the node, its constant inputs (and their constant producers), weights fake-quantized. */
  readonly model: OnnxModel;
  /** Non-constant inputs (graph inputs of the op model), each once, in node input order. */
  readonly activationInputs: readonly string[];
  /** The node's float outputs (compared with the FP32 reference). */
  readonly outputs: readonly string[];
  /** Weight inputs that were fake-quantized int8 per channel, with the channel axis. */
  readonly quantizedWeights: readonly { readonly name: string; readonly axis: number }[];
  /** Candidates may be stacked along dim 0 (the op treats dim 0 as an independent batch). */
  readonly batchable: boolean;
}

/** Why a consumer cannot be run in isolation. */
export interface OpModelSkip { readonly name: string; readonly opType: string; readonly skip: string }

/**
 * The weight input of an op that a deployed INT8 model quantizes per output channel, and that
 * channel axis (the QDQ convention: Conv/ConvTranspose/Gemm/MatMul).
 */
export function weightInput(node: OnnxNode, weightRank: number): { input: number; axis: number } | undefined {
  switch (node.opType) {
    case 'Conv': return { input: 1, axis: 0 };
    case 'ConvTranspose': return { input: 1, axis: 1 };
    case 'Gemm': return { input: 1, axis: attrInt(node, 'transB', 0) ? 0 : 1 };
    case 'MatMul': return { input: 1, axis: weightRank - 1 };
    default: return undefined;
  }
}

/** The FP32 values of a tensor produced by a Constant node or stored as an initializer. */
export function directConstant(model: OnnxModel, index: GraphIndex, name: string): OnnxTensor | undefined {
  const t = index.tensors.get(name);
  if (!t) return undefined;
  if (t.opType === 'Initializer') return model.graph!.initializer.find((i) => i.name === name);
  if (t.opType === 'Constant') {
    const node = index.nodes[t.producerIndex]!;
    const v = getAttribute(node, 'value');
    return v?.t ?? undefined;
  }
  return undefined;
}

function constantNode(name: string, t: OnnxTensor): OnnxNode {
  return { opType: 'Constant', input: [], output: [name], name: `${name}__qcal_const`, attribute: [{ name: 'value', type: AttributeType.TENSOR, t: { ...t, name } }], domain: '' };
}

/**
 * Cuts node `nodeIndex` out of `model`: the node itself, plus every constant it reads (initializers
 * become Constant nodes so any IR version works; constants computed from constants bring their
 * producing nodes along). Its weight (see {@link weightInput}) is fake-quantized int8 per channel
 * when stored directly as a float initializer or Constant; a weight computed by other nodes stays
 * FP32 (reported in `quantizedWeights` by its absence).
 */
export function buildOpModel(model: OnnxModel, index: GraphIndex, nodeIndex: number): OpModel | OpModelSkip {
  const node = index.nodes[nodeIndex]!;
  const name = index.nodeNames[nodeIndex]!;
  const opType = node.opType;
  if (node.attribute?.some((a) => a.type === AttributeType.GRAPH || a.g || a.graphs?.length)) {
    return { name, opType, skip: 'has a subgraph' };
  }
  const outputs = node.output.filter((o) => o && index.tensors.get(o)?.elemType === DataType.FLOAT);
  if (outputs.length === 0) return { name, opType, skip: 'has no float output to compare' };

  const nodes: OnnxNode[] = [];
  const added = new Set<string>();
  const activationInputs: string[] = [];
  const quantizedWeights: { name: string; axis: number }[] = [];
  const addConstant = (tensorName: string): void => {
    if (added.has(tensorName)) return;
    added.add(tensorName);
    const t = index.tensors.get(tensorName)!;
    const direct = directConstant(model, index, tensorName);
    if (direct) { nodes.push(constantNode(tensorName, direct)); return; }
    // Computed from constants: bring the producer and its own constant inputs.
    const producer = index.nodes[t.producerIndex];
    if (!producer) throw new Error(`constant "${tensorName}" has no producer`);
    for (const i of producer.input) if (i) addConstant(i);
    if (!nodes.includes(producer)) nodes.push(producer);
    for (const o of producer.output) if (o) added.add(o);
  };
  node.input.forEach((inp, pos) => {
    if (!inp) return;
    const t = index.tensors.get(inp);
    if (!t) return;
    if (!t.isConstant) {
      if (!activationInputs.includes(inp)) activationInputs.push(inp);
      return;
    }
    const direct = directConstant(model, index, inp);
    const w = weightInput(node, direct ? tensorDims(direct).length : 0);
    if (w && w.input === pos && direct && (direct.dataType ?? 0) === DataType.FLOAT && !added.has(inp)) {
      const dims = tensorDims(direct);
      const q = fakeQuantWeightPerChannel(tensorToFloat32(direct, inp), dims, w.axis);
      nodes.push(constantNode(inp, makeFloatTensor(inp, dims, q)));
      added.add(inp);
      quantizedWeights.push({ name: inp, axis: w.axis });
      return;
    }
    addConstant(inp);
  });
  nodes.push({ ...node, name });

  const vi = (n: string): OnnxValueInfo => ({ name: n, type: { tensorType: { elemType: index.tensors.get(n)?.elemType || DataType.FLOAT } } });
  const opModel: OnnxModel = {
    irVersion: model.irVersion,
    opsetImport: model.opsetImport,
    producerName: 'qcal-autotune',
    graph: {
      name: `qcal_op_${name}`,
      node: nodes,
      initializer: [],
      input: activationInputs.map(vi),
      output: outputs.map(vi),
      valueInfo: [],
    },
  };
  return { name, opType, model: opModel, activationInputs, outputs, quantizedWeights, batchable: isBatchable(node, index, opModel) };
}
