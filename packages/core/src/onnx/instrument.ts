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
   * For each range-only tensor, the names of its in-graph min, max and sum outputs. The sum is
   * there to detect NaN: onnxruntime's ReduceMin/ReduceMax skip a NaN unless it comes first, while
   * a sum is NaN (or ±Infinity) as soon as one value is not finite (or the finite ones overflow).
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
 * Exposes the planned tensors as graph outputs and adds ReduceMin/ReduceMax (all axes,
 * keepdims=0) for range-only tensors, as onnxruntime's MinMaxCalibrater does, plus a ReduceSum
 * that tells whether the tensor held a non-finite value (see `rangeOutputs`). The input model is
 * not modified: the graph, its node list and output list are shallow copies.
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
  for (const t of plan.range) {
    const min = fresh(`${t}__qcal_min`);
    const max = fresh(`${t}__qcal_max`);
    const sum = fresh(`${t}__qcal_sum`);
    const keepdims = { name: 'keepdims', type: AttributeType.INT, i: 0 };
    // No axes: reduce over all dimensions in every opset (attribute before 18, input from 18).
    nodes.push({ input: [t], output: [min], name: fresh(`${t}__qcal_reducemin`), opType: 'ReduceMin', attribute: [keepdims] });
    nodes.push({ input: [t], output: [max], name: fresh(`${t}__qcal_reducemax`), opType: 'ReduceMax', attribute: [{ ...keepdims }] });
    // ReduceSum: axes an input from opset 13, so none given (keepdims 0, all axes) in every opset.
    nodes.push({ input: [t], output: [sum], name: fresh(`${t}__qcal_reducesum`), opType: 'ReduceSum', attribute: [{ ...keepdims }] });
    outputs.push(floatOutput(min), floatOutput(max), floatOutput(sum));
    fetches.push(min, max, sum);
    rangeOutputs.set(t, { min, max, sum });
  }
  const fullOutputs = new Map<string, string>();
  if (inner) {
    // The lifted outputs are already graph outputs of the rewritten model.
    for (const [t, o] of inner.full) { fetches.push(o); fullOutputs.set(t, o); }
    for (const [t, o] of inner.range) { fetches.push(o.min, o.max, o.sum); rangeOutputs.set(t, o); }
  }
  return { model: { ...model, graph: { ...g, node: nodes, output: outputs } }, fetches, rangeOutputs, fullOutputs };
}
