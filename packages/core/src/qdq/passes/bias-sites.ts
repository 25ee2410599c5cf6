import { attrFloat, attrInt, type OnnxModel } from '../../onnx/model';
import { Constants } from '../constants';

/**
 * A place where a bias can absorb a per-channel output shift: the tensor `output` (its channels on
 * axis 1 for Conv, on the last axis otherwise) and the float constant `bias` added to it.
 */
export interface BiasSite {
  /** The node whose bias input is rewritten (Conv, Gemm, or the Add after a MatMul). */
  readonly node: string;
  readonly opType: 'Conv' | 'Gemm' | 'MatMul+Add';
  /** The tensor whose per-channel mean is measured. */
  readonly output: string;
  /** The float constant (1-D, one value per channel) holding the bias. */
  readonly bias: string;
  /** Index of the bias among the node's inputs. */
  readonly biasInput: number;
  readonly channels: number;
  /** 'conv': channels on axis 1 of a rank-`rank` tensor; 'last': channels on the last axis. */
  readonly layout: { kind: 'conv'; rank: number } | { kind: 'last' };
}

/**
 * Bias sites of a float model whose weights are constants (the ops the QDQ writer quantizes):
 * Conv with a constant weight and bias; Gemm with constant B and a 1-D constant C (beta 1);
 * MatMul with a constant 2-D B whose only consumer is an Add of a 1-D constant of B's width
 * (a Linear layer as exporters write it). Keyed by the node's output name (stable across copies).
 */
export function findBiasSites(model: OnnxModel): BiasSite[] {
  const g = model.graph!;
  const consts = new Constants(g);
  const consumers = new Map<string, number>();
  for (const n of g.node) for (const i of n.input) if (i) consumers.set(i, (consumers.get(i) ?? 0) + 1);
  const outputs = new Set(g.output.map((o) => o.name));
  const sites: BiasSite[] = [];
  const isStd = (d: string | null | undefined): boolean => !d || d === 'ai.onnx';
  for (const n of g.node) {
    if (!isStd(n.domain)) continue;
    const y = n.output[0];
    if (!y) continue;
    if (n.opType === 'Conv') {
      const w = consts.get(n.input[1] ?? ''), b = n.input[2] ? consts.get(n.input[2]) : undefined;
      if (!w || !b || b.values.length !== w.dims[0]) continue;
      sites.push({ node: y, opType: 'Conv', output: y, bias: n.input[2]!, biasInput: 2, channels: b.values.length, layout: { kind: 'conv', rank: w.dims.length } });
    } else if (n.opType === 'Gemm') {
      const w = consts.get(n.input[1] ?? ''), c = n.input[2] ? consts.get(n.input[2]) : undefined;
      if (!w || !c || w.dims.length !== 2 || attrFloat(n, 'beta', 1) !== 1) continue;
      const cols = attrInt(n, 'transB', 0) ? w.dims[0]! : w.dims[1]!;
      if (c.dims.length !== 1 || c.values.length !== cols) continue;
      sites.push({ node: y, opType: 'Gemm', output: y, bias: n.input[2]!, biasInput: 2, channels: cols, layout: { kind: 'last' } });
    } else if (n.opType === 'MatMul') {
      const w = consts.get(n.input[1] ?? '');
      if (!w || w.dims.length !== 2 || consumers.get(y) !== 1 || outputs.has(y)) continue;
      const add = g.node.find((m) => m.opType === 'Add' && isStd(m.domain) && m.input.includes(y));
      if (!add || !add.output[0]) continue;
      const k = add.input[0] === y ? 1 : 0;
      const c = consts.get(add.input[k] ?? '');
      if (!c || c.dims.length !== 1 || c.values.length !== w.dims[1]) continue;
      sites.push({ node: add.output[0], opType: 'MatMul+Add', output: add.output[0], bias: add.input[k]!, biasInput: k, channels: c.values.length, layout: { kind: 'last' } });
    }
  }
  return sites;
}
