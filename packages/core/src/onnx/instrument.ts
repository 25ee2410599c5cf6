import { AttributeType, DataType, type OnnxModel, type OnnxNode, type OnnxValueInfo } from './model';

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
  /** For each range-only tensor, the names of its in-graph min and max outputs. */
  readonly rangeOutputs: ReadonlyMap<string, { readonly min: string; readonly max: string }>;
}

function floatOutput(name: string): OnnxValueInfo {
  // elem_type only, no shape: onnxruntime infers the shape; a wrong elem_type would fail session creation.
  return { name, type: { tensorType: { elemType: DataType.FLOAT } } };
}

/**
 * Exposes the planned tensors as graph outputs and adds ReduceMin/ReduceMax (all axes,
 * keepdims=0) for range-only tensors, as onnxruntime's MinMaxCalibrater does. The input model is
 * not modified: the graph, its node list and output list are shallow copies.
 */
export function instrumentModel(model: OnnxModel, plan: InstrumentationPlan): InstrumentedModel {
  const g = model.graph!;
  const existingOutputs = new Set(g.output.map((o) => o.name));
  const nodes: OnnxNode[] = [...g.node];
  const outputs: OnnxValueInfo[] = [...g.output];
  const fetches: string[] = [];
  const rangeOutputs = new Map<string, { min: string; max: string }>();
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
    const keepdims = { name: 'keepdims', type: AttributeType.INT, i: 0 };
    // No axes: reduce over all dimensions in every opset (attribute before 18, input from 18).
    nodes.push({ input: [t], output: [min], name: fresh(`${t}__qcal_reducemin`), opType: 'ReduceMin', attribute: [keepdims] });
    nodes.push({ input: [t], output: [max], name: fresh(`${t}__qcal_reducemax`), opType: 'ReduceMax', attribute: [{ ...keepdims }] });
    outputs.push(floatOutput(min), floatOutput(max));
    fetches.push(min, max);
    rangeOutputs.set(t, { min, max });
  }
  return { model: { ...model, graph: { ...g, node: nodes, output: outputs } }, fetches, rangeOutputs };
}
