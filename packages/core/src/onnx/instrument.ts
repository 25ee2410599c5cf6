import { AttributeType, DataType, type OnnxModel, type OnnxNode, type OnnxValueInfo } from './model';
import { exposeInnerTensors } from './expose-subgraph';
import { definedNames, hasSubgraphs } from './subgraphs';

/** Which tensors the runner must fetch, and how. */
export interface InstrumentationPlan {
  /** Tensors whose full values some collector needs. */
  readonly full: readonly string[];
  /** Tensors of which only min and max are needed (computed in-graph, only two scalars cross into JS). */
  readonly range: readonly string[];
}

/** The instrumented model and the names to fetch from it. */
export interface InstrumentedModel {
  readonly model: OnnxModel;
  /** Output names to fetch: the `full` tensors themselves, then the min/max outputs of `range` tensors. */
  readonly fetches: readonly string[];
  /**
   * Range-only tensors of the main graph: their in-graph min, max and sum, packed as consecutive
   * triples (tensor k at 3k, 3k+1, 3k+2) in one [1, 3n] output. The sum is there to detect NaN:
   * onnxruntime's ReduceMin/ReduceMax skip a NaN unless it comes first, while a sum is NaN (or
   * ±Infinity) as soon as one value is not finite (or the finite ones overflow).
   */
  readonly packedRange?: { readonly output: string; readonly tensors: readonly string[] };
  /**
   * Range-only tensors inside If/Loop/Scan bodies: the names of their lifted min, max and sum
   * outputs (one value per inference, or per loop iteration; none when the branch did not run).
   */
  readonly rangeOutputs: ReadonlyMap<string, { readonly min: string; readonly max: string; readonly sum: string }>;
  /**
   * For full tensors computed inside an If/Loop/Scan body: the main-graph output carrying them
   * (0 elements when the branch did not run; stacked per iteration in a loop). Others are fetched
   * by their own name.
   */
  readonly fullOutputs: ReadonlyMap<string, string>;
}

function floatOutput(name: string): OnnxValueInfo {
  // elem_type only, no shape: onnxruntime infers the shape; a wrong elem_type would fail session creation.
  return { name, type: { tensorType: { elemType: DataType.FLOAT } } };
}

/**
 * Exposes the planned tensors as graph outputs and adds ReduceMin/ReduceMax over all axes for
 * range-only tensors, as onnxruntime's MinMaxCalibrater does, plus a ReduceSum that tells whether
 * the tensor held a non-finite value (see `packedRange`). The input model is not modified: the
 * graph, its node list and output list are shallow copies.
 *
 * The reductions of the main graph are chained into one output, which makes onnxruntime run each
 * tensor's reductions right after the tensor is computed (see `chainRanges`).
 */
export function instrumentModel(model: OnnxModel, plan: InstrumentationPlan): InstrumentedModel {
  // Tensors inside subgraphs are lifted out through their bodies first (see exposeInnerTensors).
  let inner: ReturnType<typeof exposeInnerTensors> | undefined;
  if (hasSubgraphs(model.graph!)) {
    const main = definedNames(model.graph!);
    const innerFull = plan.full.filter((t) => !main.has(t));
    const innerRange = plan.range.filter((t) => !main.has(t));
    if (innerFull.length || innerRange.length) {
      const taken = new Set<string>();
      const visit = (g: OnnxModel['graph']): void => {
        for (const n of g!.node) {
          for (const x of [...n.input, ...n.output]) if (x) taken.add(x);
          if (n.name) taken.add(n.name);
          for (const a of n.attribute) { if (a.g) visit(a.g); for (const sg of a.graphs ?? []) visit(sg); }
        }
        for (const v of [...g!.input, ...g!.output]) taken.add(v.name);
      };
      visit(model.graph);
      inner = exposeInnerTensors(model, innerFull, innerRange, taken);
      model = inner.model;
      plan = { full: plan.full.filter((t) => main.has(t)), range: plan.range.filter((t) => main.has(t)) };
    }
  }
  const g = model.graph!;
  const existingOutputs = new Set(g.output.map((o) => o.name));
  const nodes: OnnxNode[] = [...g.node];
  const outputs: OnnxValueInfo[] = [...g.output];
  const fetches: string[] = [];
  const rangeOutputs = new Map<string, { min: string; max: string; sum: string }>();
  const taken = new Set<string>([...g.node.flatMap((n) => n.output), ...g.input.map((i) => i.name)]);
  const fresh = (base: string): string => {
    let name = base;
    for (let k = 2; taken.has(name); k++) name = `${base}_${k}`;
    taken.add(name);
    return name;
  };
  for (const t of plan.full) {
    if (!existingOutputs.has(t)) {
      outputs.push(floatOutput(t));
      existingOutputs.add(t);
    }
    fetches.push(t);
  }
  const packedRange = plan.range.length ? chainRanges(plan.range, nodes, fresh) : undefined;
  if (packedRange) {
    outputs.push(floatOutput(packedRange.output));
    fetches.push(packedRange.output);
  }
  const fullOutputs = new Map<string, string>();
  if (inner) {
    // The lifted outputs are already graph outputs of the rewritten model.
    for (const [t, o] of inner.full) { fetches.push(o); fullOutputs.set(t, o); }
    for (const [t, o] of inner.range) { fetches.push(o.min, o.max, o.sum); rangeOutputs.set(t, o); }
  }
  return { model: { ...model, graph: { ...g, node: nodes, output: outputs } }, fetches, rangeOutputs, fullOutputs, ...(packedRange ? { packedRange } : {}) };
}

/**
 * Adds, for each tensor, Flatten(axis 0) → ReduceMin, ReduceMax, ReduceSum (keepdims 1: [1, 1]
 * each), and a chain acc_k = Concat(acc_{k-1}, min_k, max_k, sum_k) along axis 1 whose last link
 * is the one output.
 *
 * Why a chain: onnxruntime orders nodes by a reverse depth-first walk from the graph's leaves, the
 * last-indexed leaf first. With one leaf output per reduction (the obvious instrumentation) it
 * walks the whole model from the last reduction and runs every other reduction at the end: all
 * reduced tensors then stay alive to the end of the run and no consumer may overwrite its input
 * in place, which made the PP-OCRv4 recognizer's elementwise ops 3–5× slower (profiled: Add 2.5 →
 * 13 ms, Clip 1.1 → 4.1 ms per line). In the chain, acc_{k-1} has a higher index than tensor k's
 * reductions, so the walk reaches tensor 1 first and runs each tensor's reductions right after
 * the tensor is computed, while it is still in cache, before its other consumers (so those may
 * work in place). One output instead of 3n also saves crossing 3n tensors into JavaScript.
 * Flatten aliases its input (no copy); [1, N] reduces over all values for any rank, a scalar or
 * an empty tensor included (empty: min +∞, max −∞, sum 0, as keepdims 0 gave).
 */
function chainRanges(range: readonly string[], nodes: OnnxNode[], fresh: (base: string) => string): { output: string; tensors: readonly string[] } {
  const int = (name: string, i: number) => ({ name, type: AttributeType.INT, i });
  const reductions: OnnxNode[] = [];
  const links: OnnxNode[] = [];
  let acc: string | undefined;
  for (const t of range) {
    const flat = fresh(`${t}__qcal_flat`);
    reductions.push({ input: [t], output: [flat], name: fresh(`${t}__qcal_flatten`), opType: 'Flatten', attribute: [int('axis', 0)] });
    // No axes: all dimensions in every opset (attribute before 13/18, input from then on).
    const stats = (['ReduceMin', 'ReduceMax', 'ReduceSum'] as const).map((op) => {
      const out = fresh(`${t}__qcal_${op.slice(6).toLowerCase()}`);
      reductions.push({ input: [flat], output: [out], name: fresh(`${t}__qcal_${op.toLowerCase()}`), opType: op, attribute: [int('keepdims', 1)] });
      return out;
    });
    const next = fresh(`qcal_ranges_${links.length}`);
    links.push({ input: acc ? [acc, ...stats] : stats, output: [next], name: fresh(`qcal_ranges_concat_${links.length}`), opType: 'Concat', attribute: [int('axis', 1)] });
    acc = next;
  }
  // Links after all reductions: each link's previous link then outranks the tensor's reductions.
  nodes.push(...reductions, ...links);
  return { output: acc!, tensors: range };
}
