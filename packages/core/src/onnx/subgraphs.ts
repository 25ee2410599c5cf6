import type { OnnxGraph, OnnxNode } from './model';

/** A graph-valued attribute of a node: If's then_branch/else_branch, Loop's and Scan's body. */
export interface SubgraphAttr {
  readonly attribute: string;
  readonly graph: OnnxGraph;
}

/** The subgraphs a node holds (attributes of type GRAPH, and GRAPHS lists, in attribute order). */
export function subgraphsOf(node: OnnxNode): SubgraphAttr[] {
  const out: SubgraphAttr[] = [];
  for (const a of node.attribute ?? []) {
    if (a.g) out.push({ attribute: a.name, graph: a.g });
    (a.graphs ?? []).forEach((g, i) => out.push({ attribute: `${a.name}[${i}]`, graph: g }));
  }
  return out;
}

/** Does any node of the model's graphs (main or nested) hold a subgraph? */
export function hasSubgraphs(graph: OnnxGraph): boolean {
  return graph.node.some((n) => subgraphsOf(n).length > 0);
}

/** Names a graph defines itself: its inputs, initializers and node outputs (not its subgraphs'). */
export function definedNames(graph: OnnxGraph): Set<string> {
  const s = new Set<string>();
  for (const i of graph.input) s.add(i.name);
  for (const t of graph.initializer) if (t.name) s.add(t.name);
  for (const n of graph.node) for (const o of n.output) if (o) s.add(o);
  return s;
}

const readsCache = new WeakMap<OnnxGraph, readonly string[]>();

/**
 * Outer-scope reads of a subgraph: the names its nodes (and, recursively, its own subgraphs'
 * nodes) read without defining them. ONNX lets a body read any value of an enclosing graph by
 * name; for dataflow these are inputs of the node that owns the subgraph.
 */
export function outerReads(graph: OnnxGraph): readonly string[] {
  const cached = readsCache.get(graph);
  if (cached) return cached;
  const defined = definedNames(graph);
  const reads = new Set<string>();
  for (const n of graph.node) {
    for (const i of n.input) if (i && !defined.has(i)) reads.add(i);
    for (const s of subgraphsOf(n)) for (const r of outerReads(s.graph)) if (!defined.has(r)) reads.add(r);
  }
  for (const o of graph.output) if (!defined.has(o.name)) reads.add(o.name);
  const list = [...reads];
  readsCache.set(graph, list);
  return list;
}

/** Every value a node reads: its explicit inputs, then its subgraphs' outer-scope reads. */
export function nodeReads(node: OnnxNode): string[] {
  const subs = subgraphsOf(node);
  if (!subs.length) return node.input.filter(Boolean);
  const s = new Set(node.input.filter(Boolean));
  for (const sg of subs) for (const r of outerReads(sg.graph)) s.add(r);
  return [...s];
}

/** Who writes and who reads each value of `nodes` (reads as {@link nodeReads}: subgraphs' outer-scope reads count). */
export function producersAndReaders(nodes: readonly OnnxNode[]): { producer: Map<string, OnnxNode>; consumers: Map<string, OnnxNode[]> } {
  const producer = new Map<string, OnnxNode>();
  const consumers = new Map<string, OnnxNode[]>();
  for (const n of nodes) {
    for (const o of n.output) if (o) producer.set(o, n);
    for (const i of nodeReads(n)) (consumers.get(i) ?? consumers.set(i, []).get(i)!).push(n);
  }
  return { producer, consumers };
}
