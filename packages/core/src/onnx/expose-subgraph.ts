import { AttributeType, DataType, makeFloatTensor, type OnnxAttribute, type OnnxGraph, type OnnxModel, type OnnxNode, type OnnxValueInfo } from './model';
import { indexGraph, type SubgraphInfo } from './graph-index';
import { subgraphsOf } from './subgraphs';
import { ModelError } from '../errors';

/** What exposing tensors of subgraphs gave: the model, and for each tensor the main-graph output carrying it. */
export interface ExposedInner {
  readonly model: OnnxModel;
  /** Inner tensor → main-graph output name (its values, or [] when its branch did not run). */
  readonly full: ReadonlyMap<string, string>;
  /** Inner tensor → main-graph outputs of its in-graph min and max. */
  readonly range: ReadonlyMap<string, { readonly min: string; readonly max: string; readonly sum: string }>;
}

const floatOutput = (name: string): OnnxValueInfo => ({ name, type: { tensorType: { elemType: DataType.FLOAT } } });

/** A copy of a graph's structure down through every subgraph (weights and unchanged nodes shared). */
function cloneTree(g: OnnxGraph): OnnxGraph {
  return {
    ...g,
    node: g.node.map((n) => (subgraphsOf(n).length ? cloneNode(n) : n)),
    output: [...g.output],
  };
}
function cloneNode(n: OnnxNode): OnnxNode {
  return {
    ...n,
    output: [...n.output],
    attribute: n.attribute.map((a): OnnxAttribute => (a.g ? { ...a, g: cloneTree(a.g) } : a.graphs?.length ? { ...a, graphs: a.graphs.map(cloneTree) } : a)),
  };
}

/**
 * Makes values computed inside If/Loop/Scan bodies readable from outside, in the same single
 * inference: each becomes an output of its body and then an extra output of the node that owns the
 * body, level by level up to the main graph.
 * - If: the other branch outputs an empty float tensor in that position, so a run where the branch
 *   was not taken yields 0 elements (how the runner tells "not run" from a value).
 * - Loop / Scan: a new scan output; the value of every iteration comes out stacked on a new axis 0
 *   (so its shape must be the same in every iteration, as onnxruntime requires for scan outputs).
 * `range` tensors are reduced to their min, max and sum inside the body (ReduceMin/Max/Sum, all axes)
 * and only those scalars are exposed (stacked per iteration in a loop).
 * The input model is not modified.
 */
export function exposeInnerTensors(model: OnnxModel, full: readonly string[], range: readonly string[], taken: Set<string>): ExposedInner {
  const graph = cloneTree(model.graph!);
  const work: OnnxModel = { ...model, graph };
  const idx = indexGraph(work);
  const byPath = new Map<string, SubgraphInfo>(idx.subgraphs.map((s) => [s.path, s]));
  const fresh = (base: string): string => {
    let name = base;
    for (let k = 2; taken.has(name); k++) name = `${base}_${k}`;
    taken.add(name);
    return name;
  };
  const graphOf = (name: string): string => {
    const t = idx.tensors.get(name);
    if (!t) throw new ModelError(`cannot expose "${name}": no such tensor in the model`);
    return t.graphPath;
  };
  const mainOutputs = graph.output;

  /** Exposes `name`, living in subgraph `path`, up to the main graph; returns the main-graph name. */
  const lift = (name: string, path: string): string => {
    let cur = name;
    let p = path;
    while (p !== '') {
      const sub = byPath.get(p)!;
      const out = fresh(`${cur}__qcal_out`);
      sub.graph.node.push({ opType: 'Identity', input: [cur], output: [out], name: fresh(`${out}__identity`), attribute: [], domain: '' });
      sub.graph.output.push(floatOutput(out));
      const owner = sub.owner;
      if (owner.opType === 'If') {
        for (const other of subgraphsOf(owner)) {
          if (other.graph === sub.graph) continue;
          const dummy = fresh(`${name}__qcal_not_run`);
          other.graph.node.push({ opType: 'Constant', input: [], output: [dummy], name: fresh(`${dummy}__const`), domain: '', attribute: [{ name: 'value', type: AttributeType.TENSOR, t: makeFloatTensor(dummy, [0], []) }] });
          other.graph.output.push(floatOutput(dummy));
        }
      } else if (owner.opType === 'Scan') {
        for (const attr of ['scan_output_axes', 'scan_output_directions']) {
          const a = owner.attribute.findIndex((x) => x.name === attr);
          if (a >= 0) owner.attribute[a] = { ...owner.attribute[a]!, ints: [...(owner.attribute[a]!.ints ?? []), 0] };
        }
      } else if (owner.opType !== 'Loop') {
        throw new ModelError(`cannot expose "${name}" from the body of ${owner.opType} node "${sub.ownerName}": only If, Loop and Scan bodies are supported`);
      }
      const lifted = fresh(`${name}__qcal_${sub.ownerName.replace(/\//g, '_')}`);
      owner.output.push(lifted);
      cur = lifted;
      p = sub.ownerGraphPath;
    }
    mainOutputs.push(floatOutput(cur));
    return cur;
  };

  const fullOut = new Map<string, string>();
  for (const t of full) fullOut.set(t, lift(t, graphOf(t)));
  const rangeOut = new Map<string, { min: string; max: string; sum: string }>();
  for (const t of range) {
    const path = graphOf(t);
    const g = byPath.get(path)!.graph;
    const min = fresh(`${t}__qcal_min`);
    const max = fresh(`${t}__qcal_max`);
    const keepdims = { name: 'keepdims', type: AttributeType.INT, i: 0 };
    g.node.push({ input: [t], output: [min], name: fresh(`${t}__qcal_reducemin`), opType: 'ReduceMin', attribute: [keepdims], domain: '' });
    g.node.push({ input: [t], output: [max], name: fresh(`${t}__qcal_reducemax`), opType: 'ReduceMax', attribute: [{ ...keepdims }], domain: '' });
    // The sum tells NaN/±Infinity apart (see instrumentModel).
    const sum = fresh(`${t}__qcal_sum`);
    g.node.push({ input: [t], output: [sum], name: fresh(`${t}__qcal_reducesum`), opType: 'ReduceSum', attribute: [{ ...keepdims }], domain: '' });
    rangeOut.set(t, { min: lift(min, path), max: lift(max, path), sum: lift(sum, path) });
  }
  return { model: work, full: fullOut, range: rangeOut };
}
