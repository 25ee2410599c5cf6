import { attrFloat, opsetVersion, type OnnxModel, type OnnxNode } from '../../onnx/model';
import { makeNode } from '../../onnx/graph-builder';
import { producersAndReaders, subgraphsOf } from '../../onnx/subgraphs';
import { Constants } from '../constants';
import { clipBounds, scalarOf } from './saturation-ranges';

/**
 * A HardSwish written as several ops, which the QDQ writer treats as ONE activation: its input and
 * output are quantized, the tensors between them are not (they run in float between the input's
 * DequantizeLinear and the output's QuantizeLinear). Exporters that predate ONNX's HardSwish
 * (opset 14) decompose it: paddle2onnx writes x·Clip(x+3, 0, 6)/6 (Add, Clip, Mul, Div — every
 * PP-LCNet block of PP-OCRv4), PyTorch x·HardSigmoid(x). Quantizing each step rounds the
 * activation four times instead of once. A one-value affine after it (PP-LCNetV3's "learnable
 * affine block" a·hardswish(x) + b: Mul then Add by scalars) belongs to the same elementwise
 * function of x and is taken in too: two more roundings saved per block.
 */
export interface ActivationChain {
  kind: 'hardswish';
  /** The activation's input x (read by the chain's first and its gating Mul; other readers allowed). */
  input: string;
  /** The chain's value: the last affine op's output, or hardswish(x) when none follows. */
  output: string;
  /** hardswish(x): the HardSwish part's last output (= output when no affine follows). */
  activation: string;
  /** The tensors between, each read only by the next node of the chain and none a graph output. */
  internal: string[];
  /** The HardSwish part's nodes, in graph order (one native HardSwish, or its decomposition). */
  nodes: OnnxNode[];
  /** The one-value Mul/Add/Sub/Div ops after it, in order (possibly none). */
  affine: OnnxNode[];
}

const near = (v: number | undefined, want: number): boolean => v !== undefined && Math.abs(v - want) <= 1e-5 * Math.max(1, Math.abs(want));

/**
 * The decomposed HardSwish chains of a model's main graph. Matched forms (x a float tensor, the
 * constants one value each, within 1e-5 relative, float32 of 1/6 included):
 * - x·Clip(x+3, 0, 6)/6: Add(x, 3) → Clip(·, 0, 6) → Mul(x, ·) → Div(·, 6) or Mul(·, 1/6);
 * - x·(Clip(x+3, 0, 6)/6): the scaling before the gating Mul;
 * - x·HardSigmoid(x) with α = 1/6, β = 0.5;
 * each followed by as many Mul/Add/Sub/Div by a constant of one value or one per channel
 * (y·a, y+b, y−b, b−y, y/a; a non-zero) as read the previous value alone (a native HardSwish
 * node counts only when such an affine follows it: alone it is one activation already).
 * Not matched (they stay separately quantized): other Clip bounds or offsets, a gate multiplied
 * with another tensor than the one it was computed from (an SE block's x·HardSigmoid(s)), a chain
 * tensor read by anything else (or by an If/Loop/Scan body) or that is a graph output. Pure.
 */
export function findActivationChains(model: OnnxModel): ActivationChain[] {
  const g = model.graph!;
  const consts = new Constants(g);
  const scalar = scalarOf(consts);
  const { producer, consumers } = producersAndReaders(g.node);
  const outputs = new Set(g.output.map((o) => o.name));
  /** The one node reading t, when t is not a graph output and nothing else reads it. */
  const soleReader = (t: string | undefined): OnnxNode | undefined => {
    const cs = t ? consumers.get(t) ?? [] : [];
    return t && !outputs.has(t) && cs.length === 1 && cs[0]!.input.filter((i) => i === t).length === 1 ? cs[0] : undefined;
  };
  /** The other input of a two-input node, when `t` is one of them. */
  const other = (n: OnnxNode, t: string): string | undefined => (n.input.length === 2 && n.input[0] !== n.input[1] ? (n.input[0] === t ? n.input[1] : n.input[1] === t ? n.input[0] : undefined) : undefined);
  /** Does `n` divide `t` by 6 (Div(t, 6), Mul(t, 1/6) in either order)? */
  const isSixth = (n: OnnxNode | undefined, t: string): boolean => {
    if (!n) return false;
    if (n.opType === 'Div') return n.input[0] === t && n.input.length === 2 && near(scalar(n.input[1]), 6);
    return n.opType === 'Mul' && near(scalar(other(n, t)), 1 / 6);
  };
  const isAct = (t: string | undefined): t is string => !!t && !consts.isFloat(t);
  type Base = Omit<ActivationChain, 'activation' | 'affine'>;
  const chains: Base[] = [];
  for (const n of g.node) {
    if (n.opType === 'HardSwish' && (!n.domain || n.domain === 'ai.onnx') && isAct(n.input[0])) {
      chains.push({ kind: 'hardswish', input: n.input[0], output: n.output[0]!, internal: [], nodes: [n] });
    } else if (n.opType === 'Clip') {
      const clip = n;
      const b = clipBounds(clip, scalar);
      const a = clip.input[0];
      const add = a ? producer.get(a) : undefined;
      if (!a || !add || add.opType !== 'Add' || b.lo !== 0 || !near(b.hi, 6) || clip.input.slice(1).some((i) => i === a)) continue;
      const x = add.input.find((i) => i && scalar(i) === undefined);
      if (!isAct(x) || !near(scalar(other(add, x)), 3) || soleReader(a) !== clip) continue;
      const c = clip.output[0]!;
      const next = soleReader(c);
      if (!next) continue;
      if (next.opType === 'Mul' && other(next, c) === x) {
        // x·Clip(x+3, 0, 6), then /6.
        const m = next.output[0]!;
        const div = soleReader(m);
        if (!isSixth(div, m)) continue;
        chains.push({ kind: 'hardswish', input: x, output: div!.output[0]!, internal: [a, c, m], nodes: [add, clip, next, div!] });
      } else if (isSixth(next, c)) {
        // x·(Clip(x+3, 0, 6)/6).
        const s = next.output[0]!;
        const mul = soleReader(s);
        if (!mul || mul.opType !== 'Mul' || other(mul, s) !== x) continue;
        chains.push({ kind: 'hardswish', input: x, output: mul.output[0]!, internal: [a, c, s], nodes: [add, clip, next, mul] });
      }
    } else if (n.opType === 'HardSigmoid') {
      const x = n.input[0];
      const h = n.output[0]!;
      const mul = soleReader(h);
      if (!isAct(x) || !near(attrFloat(n, 'alpha', 0.2), 1 / 6) || !near(attrFloat(n, 'beta', 0.5), 0.5) || !mul || mul.opType !== 'Mul' || other(mul, h) !== x) continue;
      chains.push({ kind: 'hardswish', input: x, output: mul.output[0]!, internal: [h], nodes: [n, mul] });
    }
  }
  /**
   * A constant that scales or shifts y elementwise without changing its shape: one value, or one
   * per channel laid out along axis 1 of an [N, C, …] tensor ([C, 1, …] or [1, C, 1, …]).
   */
  const channelConst = (name: string | undefined): Float32Array | undefined => {
    const v = name ? consts.get(name) : undefined;
    if (!v || !v.values.length || !v.values.every(Number.isFinite)) return undefined;
    if (v.values.length === 1) return v.values;
    const d = v.dims;
    const ones = (a: number[]) => a.every((x) => x === 1);
    return (d[0] === v.values.length && ones(d.slice(1)) && d.length >= 2) || (d.length >= 3 && d[0] === 1 && d[1] === v.values.length && ones(d.slice(2))) ? v.values : undefined;
  };
  /** The chain with the one-value (or per-channel) affine ops that follow it. */
  const withAffine = (c: Base): ActivationChain => {
    const affine: OnnxNode[] = [];
    const inner: string[] = [];
    let y = c.output;
    for (let n = soleReader(y); n && AFFINE.has(n.opType); n = soleReader(y)) {
      const k = channelConst(other(n, y));
      if (!k || (n.opType === 'Div' && (n.input[0] !== y || k.some((v) => v === 0)))) break;
      affine.push(n);
      inner.push(y);
      y = n.output[0]!;
    }
    return { ...c, activation: c.output, output: y, internal: [...c.internal, ...inner], affine };
  };
  return chains.map(withAffine).filter((c) => c.nodes.length > 1 || c.affine.length > 0);
}

const AFFINE = new Set(['Mul', 'Add', 'Sub', 'Div']);

/**
 * Can a model at opset 13 be declared opset 14 with every node meaning what it did? Opset 14
 * changed Add, Sub, Mul, Div, Relu, Identity, CumSum (element types only), Reshape (`allowzero`,
 * default 0 = the old behaviour), GRU/LSTM/RNN (`layout`, default 0 = the old layout) and
 * BatchNormalization (`training_mode`: its extra outputs exist only in training mode), and added
 * HardSwish and Trilu. So: yes, unless a BatchNormalization has more than one output (a training
 * graph), in the main graph or any If/Loop/Scan body.
 */
export function canDeclareOpset14(model: OnnxModel): boolean {
  const v = opsetVersion(model);
  if (v >= 14) return true;
  if (v !== 13) return false;
  const ok = (nodes: readonly OnnxNode[]): boolean => nodes.every((n) =>
    !((!n.domain || n.domain === 'ai.onnx') && n.opType === 'BatchNormalization' && n.output.filter(Boolean).length > 1)
    && subgraphsOf(n).every((sg) => ok(sg.graph.node)));
  return ok(model.graph!.node);
}

/**
 * Replaces each chain with one HardSwish node (input x, output the chain's output; ONNX HardSwish
 * exists from opset 14): the float ops between the input's DequantizeLinear and the output's
 * QuantizeLinear then run as one kernel (PP-OCRv4 detector, onnxruntime CPU, one thread: 0.66×
 * FP32 latency instead of 0.77× with the four float ops). A model at opset 13 is declared 14 when
 * {@link canDeclareOpset14}; otherwise nothing is replaced (returns the model and 0), and the
 * chains stay as float ops. Exact up to float rounding (HardSwish computes x·max(0, min(1, x/6 + 1/2))).
 * The input model is not modified.
 */
export function replaceWithHardSwish(model: OnnxModel, chains: readonly ActivationChain[]): { model: OnnxModel; replaced: number } {
  const todo = chains.filter((c) => c.nodes.length > 1);
  if (!todo.length || !canDeclareOpset14(model)) return { model, replaced: 0 };
  const last = new Map(todo.map((c) => [c.nodes[c.nodes.length - 1]!, c]));
  const drop = new Set(todo.flatMap((c) => c.nodes));
  const nodes: OnnxNode[] = [];
  for (const n of model.graph!.node) {
    const c = last.get(n);
    // At the last node's place: x is computed before the chain's first node, its readers after.
    if (c) nodes.push(makeNode('HardSwish', [c.input], [c.activation], `${n.name || c.activation}_hardswish`));
    else if (!drop.has(n)) nodes.push(n);
  }
  const gone = new Set(todo.flatMap((c) => c.nodes.flatMap((n) => n.output)).filter((t) => !todo.some((c) => c.activation === t)));
  const g = model.graph!;
  const opsetImport = opsetVersion(model) >= 14 ? model.opsetImport : model.opsetImport.map((o) => (!o.domain || o.domain === 'ai.onnx' ? { ...o, version: 14 } : o));
  return { model: { ...model, opsetImport, graph: { ...g, node: nodes, valueInfo: g.valueInfo.filter((v) => !gone.has(v.name)) } }, replaced: todo.length };
}
