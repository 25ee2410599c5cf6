import type { OnnxAttribute, OnnxGraph, OnnxNode, OnnxTensor } from './model';
import { AttributeType, DataType, makeIntTensor } from './model';

/**
 * Small helpers for rewriting a graph without touching the decoded protobuf objects in place:
 * unique names, new nodes and attributes. Rewrites build new node arrays and share unchanged
 * nodes, so the input model stays valid.
 */
export class NameScope {
  private readonly used = new Set<string>();
  /** Reserves every name of `graph` and of its If/Loop/Scan bodies. */
  constructor(graph: OnnxGraph) {
    this.reserve(graph);
  }
  private reserve(graph: OnnxGraph): void {
    for (const n of graph.node) {
      for (const x of [...n.input, ...n.output]) if (x) this.used.add(x);
      if (n.name) this.used.add(n.name);
      for (const a of n.attribute ?? []) { if (a.g) this.reserve(a.g); for (const sg of a.graphs ?? []) this.reserve(sg); }
    }
    for (const t of graph.initializer) if (t.name) this.used.add(t.name);
    for (const v of [...graph.input, ...graph.output, ...graph.valueInfo]) this.used.add(v.name);
  }
  /** `base`, or `base_1`, `base_2`, … whichever is not taken yet; the result is reserved. */
  fresh(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }
  has(name: string): boolean {
    return this.used.has(name);
  }
}

export function makeNode(opType: string, inputs: string[], outputs: string[], name: string, attrs: OnnxAttribute[] = []): OnnxNode {
  return { opType, input: inputs, output: outputs, name, attribute: attrs, domain: '' };
}

export const intAttr = (name: string, i: number): OnnxAttribute => ({ name, type: AttributeType.INT, i });
export const intsAttr = (name: string, ints: readonly number[]): OnnxAttribute => ({ name, type: AttributeType.INTS, ints: [...ints] });
export const floatAttr = (name: string, f: number): OnnxAttribute => ({ name, type: AttributeType.FLOAT, f });
export const stringAttr = (name: string, s: string): OnnxAttribute => ({ name, type: AttributeType.STRING, s: new Uint8Array(Buffer.from(s, 'utf8')) });

/** A 1-D int64 initializer. */
export function int64Vector(name: string, values: readonly number[]): OnnxTensor {
  return makeIntTensor(name, [values.length], DataType.INT64, values);
}
