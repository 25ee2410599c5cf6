import type { OnnxModel, OnnxNode } from '../onnx/model';
import type { SwitchModel } from './switch-model';

/**
 * The switch model with only the switches in `keep` left switchable; every other switch is fixed
 * `rest` ('off': its Where nodes read the float value, 'on': the dequantized one) and the nodes
 * only it needed (its Gather, and for 'off' its QuantizeLinear/DequantizeLinear) are dropped.
 * Where selects exactly, so for every mask that agrees with `rest` outside `keep` it computes
 * what the full switch model computes — for less work: a model with one switch costs about a
 * plain inference, the full switch model (every activation's Q/DQ and select, the weights
 * selected at run time) about five on the PP-OCRv4 recognizer. Run it with onnxruntime's QDQ
 * fusion off (`session.disable_quant_qdq`), so fixed-on Q/DQ pairs stay float simulation as in
 * the full model instead of becoming integer kernels.
 */
export function restrictSwitchModel(sw: SwitchModel, keep: ReadonlySet<string>, rest: 'off' | 'on'): OnnxModel {
  const g = sw.model.graph!;
  const fixed = new Set<string>();
  sw.switches.forEach((t, i) => { if (!keep.has(t)) fixed.add(sw.gates[i]!); });
  const alias = new Map<string, string>();
  let nodes: OnnxNode[] = [];
  for (const n of g.node) {
    if (n.opType === 'Where' && fixed.has(n.input[0]!)) alias.set(n.output[0]!, n.input[rest === 'on' ? 1 : 2]!);
    else nodes.push(n);
  }
  const resolve = (x: string): string => { let y = x; while (alias.has(y)) y = alias.get(y)!; return y; };
  nodes = nodes.map((n) => (n.input.some((x) => alias.has(x)) ? { ...n, input: n.input.map((x) => (x ? resolve(x) : x)) } : n));
  // Drop what nothing reads any more (graph outputs and names read inside subgraphs count as read).
  const outputs = new Set(g.output.map((o) => o.name));
  for (let changed = true; changed;) {
    const used = new Set<string>(outputs);
    for (const n of nodes) readBy(n, used);
    const next = nodes.filter((n) => n.output.some((o) => o && used.has(o)));
    changed = next.length !== nodes.length;
    nodes = next;
  }
  const used = new Set<string>();
  for (const n of nodes) readBy(n, used);
  return { ...sw.model, graph: { ...g, node: nodes, initializer: g.initializer.filter((t) => used.has(t.name ?? '')) } };
}

/** Adds every name `n` reads, including the names its If/Loop/Scan bodies read. */
function readBy(n: OnnxNode, into: Set<string>): void {
  for (const x of n.input) if (x) into.add(x);
  for (const a of n.attribute ?? []) for (const sg of [...(a.g ? [a.g] : []), ...(a.graphs ?? [])]) for (const m of sg.node) readBy(m, into);
}
