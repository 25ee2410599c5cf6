import { AttributeType, DataType, makeIntTensor, opsetVersion, type OnnxModel, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from './model';
import { exposeInnerTensors } from './expose-subgraph';
import { definedNames, hasSubgraphs } from './subgraphs';
import { derivableRanges, type DerivedRange } from './derived-ranges';
import { nanProofs, type NanProofs } from './nan-proofs';

/** Which tensors the runner must fetch, and how. */
export interface InstrumentationPlan {
  /** Tensors whose full values some collector needs. */
  readonly full: readonly string[];
  /** Tensors of which only min and max are needed (computed in-graph, only two scalars cross into JS). */
  readonly range: readonly string[];
  /**
   * Derive the range of tensors computed from another range tensor by a monotone elementwise op
   * (see `derivableRanges`) instead of reducing them (default true).
   */
  readonly derive?: boolean;
  /**
   * Reduced range tensors whose NaN-freeness follows from their inputs' (see `nanProofs`) get no
   * ReduceSum: the runner checks the proof per batch (default true).
   */
  readonly proveFinite?: boolean;
  /**
   * Tensors a collector sees as a sample (fast mode): the graph outputs every `step`-th value of the
   * flattened tensor (`step` fed at run time, per tensor); their min, max and sum are reduced into
   * the packed range output (the extremes stay exact). Main-graph tensors only.
   */
  readonly sampled?: readonly string[];
}

/** The sample output and run-time input of one sampled tensor (see {@link InstrumentationPlan.sampled}). */
export interface SampledOutputs {
  /** [size/(step·block), 1, block] float output: the first block of every step blocks of the flattened tensor. */
  readonly sample: string;
  /**
   * int64 [3] graph input `[-1, step, block]`: the tensor is seen as rows of `step` blocks of `block`
   * values and the sample is each row's first block; block 1: every step-th value. `step·block` must
   * divide the tensor's size (`[-1, 1, 1]`: the whole tensor).
   */
  readonly shape: string;
}

/** Where one range tensor's statistics sit in the packed output. */
export interface PackedRangeEntry {
  readonly tensor: string;
  /** Reduced tensors: min, max and sum at offset, offset + 1, offset + 2 (proven ones: min and max only). */
  readonly offset: number;
  /** No sum: its NaN check is the proof of `packedRange.proofs` (checked per batch by the runner). */
  readonly proven?: boolean;
  /** Derived tensors: how (their one slot holds the tensor's first value; it only keeps a consumer on it). */
  readonly derived?: DerivedRange;
}

/** The instrumented model and the names to fetch from it. */
export interface InstrumentedModel {
  readonly model: OnnxModel;
  /** Output names to fetch: the `full` tensors themselves, then the min/max outputs of `range` tensors. */
  readonly fetches: readonly string[];
  /**
   * Range-only tensors of the main graph, in plan order, and their statistics packed in one [1, n]
   * output: min, max and sum of reduced tensors, one slot for derived ones. The sum is there to
   * detect NaN: onnxruntime's ReduceMin/ReduceMax skip a NaN unless it comes first, while a sum is
   * NaN (or ±Infinity) as soon as one value is not finite (or the finite ones overflow).
   */
  readonly packedRange?: { readonly output: string; readonly entries: readonly PackedRangeEntry[]; readonly proofs?: NanProofs };
  /** Sampled tensors (fast mode): sample output and step input; their min/max/sum are packedRange entries. */
  readonly sampledOutputs: ReadonlyMap<string, SampledOutputs>;
  /**
   * Sampled tensors computed from another sampled tensor by a monotone elementwise op (see
   * `derivableRanges`): no sample output nor reductions of their own; their sample is `apply` of
   * the source's sample (the values of t at the same places) and their extremes `map` of the
   * source's. Their packedRange entry only keeps a consumer on them (as for derived range tensors).
   */
  readonly sampledDerived: ReadonlyMap<string, DerivedRange>;
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
      // Keep the plan's other fields (derive, sampled: main-graph tensors only).
      plan = { ...plan, full: plan.full.filter((t) => main.has(t)), range: plan.range.filter((t) => main.has(t)) };
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
  // A range tensor is derived from other range tensors; a sampled one from another sampled one
  // (whose sample and extremes the runner has in JavaScript), where t is elementwise in it (apply).
  const rangeSet = new Set(plan.range);
  const sampledSet = new Set(plan.sampled ?? []);
  const derived = plan.derive === false ? new Map<string, DerivedRange>()
    : new Map([...derivableRanges(g, [...plan.range, ...sampledSet])].filter(([t, d]) => (rangeSet.has(t) ? (d.sources ?? [d.source]).every((x) => rangeSet.has(x)) : sampledSet.has(d.source) && d.apply !== undefined)));
  const sampledDerived = new Map([...derived].filter(([t]) => sampledSet.has(t)));
  const initializers = [...g.initializer];
  const sampledOutputs = new Map<string, SampledOutputs>();
  const sampledNodes = new Map<string, (flat: string) => { nodes: OnnxNode[]; tie: string }>();
  const inputs = [...g.input];
  if (plan.sampled?.length) {
    for (const i of g.initializer) if (i.name) taken.add(i.name);
    // Slice takes starts/ends/axes as attributes before opset 10, as inputs from 10.
    const sliceConst = opsetVersion(model) >= 10 ? { starts: fresh('qcal__sample_starts'), ends: fresh('qcal__sample_ends'), axes: fresh('qcal__sample_axes') } : undefined;
    if (sliceConst) initializers.push(makeIntTensor(sliceConst.starts, [1], DataType.INT64, [0]), makeIntTensor(sliceConst.ends, [1], DataType.INT64, [1]), makeIntTensor(sliceConst.axes, [1], DataType.INT64, [1]));
    for (const t of plan.sampled) {
      if (sampledDerived.has(t)) continue;
      const o: SampledOutputs = { sample: fresh(`${t}__qcal_sample`), shape: fresh(`${t}__qcal_sample_shape`) };
      const rows = fresh(`${t}__qcal_rows`);
      const tie = fresh(`${t}__qcal_sample_tie`);
      const sampleFlat = fresh(`${t}__qcal_sample_flat`);
      // From the chain's Flatten of the tensor (one consumer of the tensor itself: onnxruntime then
      // converts a blocked-layout tensor once, not once per consumer).
      sampledNodes.set(t, (flat) => ({
        tie,
        nodes: [
          // [-1, step, block] rows, first block of each: block 1 is every step-th value.
          { input: [flat, o.shape], output: [rows], name: fresh(`${t}__qcal_rows_reshape`), opType: 'Reshape', attribute: [] },
          sliceConst
            ? { input: [rows, sliceConst.starts, sliceConst.ends, sliceConst.axes], output: [o.sample], name: fresh(`${t}__qcal_slice`), opType: 'Slice', attribute: [] }
            : {
              input: [rows], output: [o.sample], name: fresh(`${t}__qcal_slice`), opType: 'Slice',
              attribute: [{ name: 'starts', type: AttributeType.INTS, ints: [0] }, { name: 'ends', type: AttributeType.INTS, ints: [1] }, { name: 'axes', type: AttributeType.INTS, ints: [1] }],
            },
          // The sample is an output but also feeds the chain (a [1, 1] reduction of it), so
          // onnxruntime cuts it out right after the tensor is computed, not at the end (see chainRanges).
          { input: [o.sample], output: [sampleFlat], name: fresh(`${t}__qcal_sample_flatten`), opType: 'Flatten', attribute: [{ name: 'axis', type: AttributeType.INT, i: 0 }] },
          { input: [sampleFlat], output: [tie], name: fresh(`${t}__qcal_sample_tie_reduce`), opType: 'ReduceMin', attribute: [{ name: 'keepdims', type: AttributeType.INT, i: 1 }] },
        ],
      }));
      inputs.push({ name: o.shape, type: { tensorType: { elemType: DataType.INT64, shape: { dim: [{ dimValue: 3 }] } } } });
      outputs.push(floatOutput(o.sample));
      fetches.push(o.sample);
      sampledOutputs.set(t, o);
    }
  }
  // One chain for range-only and sampled tensors, in graph order (producer's index).
  const producer = new Map<string, number>();
  g.node.forEach((n, i) => { for (const x of n.output) producer.set(x, i); });
  const chained = plan.sampled?.length ? [...plan.range, ...plan.sampled].sort((a, b) => (producer.get(a) ?? -1) - (producer.get(b) ?? -1)) : plan.range;
  // NaN checks proven from other tensors' statistics instead of a ReduceSum (range tensors only:
  // fast mode's sampled tensors keep theirs).
  const proofs = plan.proveFinite === false || !plan.range.length ? undefined : nanProofs(g, plan.range, new Set(plan.range.filter((t) => !derived.has(t))));
  const packed = chained.length ? chainRanges(chained, derived, proofs?.proven ?? new Set(), nodes, fresh, firstValue(opsetVersion(model), initializers, fresh), sampledNodes) : undefined;
  const packedRange = packed && proofs?.proven.size ? { ...packed, proofs } : packed;
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
  return {
    model: { ...model, graph: { ...g, node: nodes, input: inputs, output: outputs, initializer: initializers } },
    fetches, rangeOutputs, fullOutputs, sampledOutputs, sampledDerived, ...(packedRange ? { packedRange } : {}),
  };
}

/**
 * Reduced tensors per link of the chain (with the derived ones between them). Fewer links, fewer
 * nodes: session creation grows with the node count (PP-OCRv4 recognizer, 143 reduced tensors:
 * 1 per link 164 ms of CPU, 8 per link 144 ms; plain model 73 ms), and each link copies the
 * statistics so far.
 */
const LINK_TENSORS = 8;

/**
 * Adds, for each reduced tensor, Flatten(axis 0) → ReduceMin, ReduceMax, ReduceSum (keepdims 1:
 * [1, 1] each), for each derived tensor Flatten → Slice of its first value (a consumer, so that
 * onnxruntime fuses around it exactly as around a reduced tensor: the derivation reproduces the
 * unfused op), and a chain of links acc_k = Concat(acc_{k-1}, <the statistics of the next
 * LINK_TENSORS reduced tensors and of the derived ones among them, in plan order>) along axis 1
 * whose last link is the one output.
 *
 * Why a chain: onnxruntime orders nodes by a reverse depth-first walk from the graph's leaves, the
 * last-indexed leaf first, visiting a node's inputs highest index first. With one leaf output per
 * reduction (the obvious instrumentation) it walks the whole model from the last reduction and
 * runs every other reduction at the end: all reduced tensors then stay alive to the end of the
 * run and no consumer may overwrite its input in place, which made the PP-OCRv4 recognizer's
 * elementwise ops 3–5× slower (profiled: Add 2.5 → 13 ms, Clip 1.1 → 4.1 ms per line). In the
 * chain, acc_{k-1} has a higher index than the nodes of link k, and within a link the nodes of
 * earlier tensors have higher indices, so the walk reaches the first tensor first and runs each
 * tensor's statistics right after the tensor is computed, while it is in cache and before its
 * other consumers (which may then work in place). One output instead of 3n also saves crossing 3n
 * tensors into JavaScript. Flatten aliases its input (no copy); [1, N] reduces over all values for
 * any rank, a scalar or an empty tensor included (empty: min +∞, max −∞, sum 0).
 */
function chainRanges(
  range: readonly string[],
  derived: ReadonlyMap<string, DerivedRange>,
  proven: ReadonlySet<string>,
  nodes: OnnxNode[],
  fresh: (base: string) => string,
  sliceFirst: (input: string, output: string) => OnnxNode,
  sampled: ReadonlyMap<string, (flat: string) => { nodes: OnnxNode[]; tie: string }>,
): { output: string; entries: PackedRangeEntry[] } {
  const int = (name: string, i: number) => ({ name, type: AttributeType.INT, i });
  const stats: OnnxNode[] = [];
  const links: OnnxNode[] = [];
  const entries: PackedRangeEntry[] = [];
  let acc: string | undefined;
  let width = 0;
  let group: { nodes: OnnxNode[]; outputs: string[] }[] = [];
  let reduced = 0;
  const close = (): void => {
    const next = fresh(`qcal_ranges_${links.length}`);
    const inputs = group.flatMap((e) => e.outputs);
    links.push({ input: acc ? [acc, ...inputs] : inputs, output: [next], name: fresh(`qcal_ranges_concat_${links.length}`), opType: 'Concat', attribute: [int('axis', 1)] });
    // Earlier tensors' nodes get higher indices (see above).
    for (const e of [...group].reverse()) stats.push(...e.nodes);
    acc = next;
    group = [];
  };
  for (const t of range) {
    const flat = fresh(`${t}__qcal_flat`);
    const entry: { nodes: OnnxNode[]; outputs: string[] } = {
      nodes: [{ input: [t], output: [flat], name: fresh(`${t}__qcal_flatten`), opType: 'Flatten', attribute: [int('axis', 0)] }],
      outputs: [],
    };
    const d = derived.get(t);
    if (d) {
      const first = fresh(`${t}__qcal_first`);
      entry.nodes.push(sliceFirst(flat, first));
      entry.outputs.push(first);
      entries.push({ tensor: t, offset: width, derived: d });
      width += 1;
    } else {
      // No axes: all dimensions in every opset (attribute before 13/18, input from then on).
      const noSum = proven.has(t);
      for (const op of noSum ? ['ReduceMin', 'ReduceMax'] as const : ['ReduceMin', 'ReduceMax', 'ReduceSum'] as const) {
        const out = fresh(`${t}__qcal_${op.slice(6).toLowerCase()}`);
        entry.nodes.push({ input: [flat], output: [out], name: fresh(`${t}__qcal_${op.toLowerCase()}`), opType: op, attribute: [int('keepdims', 1)] });
        entry.outputs.push(out);
      }
      // A sampled tensor (fast mode): its sample's nodes and their [1, 1] tie join the link, 4th slot.
      const x = sampled.get(t)?.(flat);
      if (x) { entry.nodes.push(...x.nodes); entry.outputs.push(x.tie); }
      entries.push({ tensor: t, offset: width, ...(noSum ? { proven: true } : {}) });
      width += (noSum ? 2 : 3) + (x ? 1 : 0);
    }
    group.push(entry);
    if (!d && ++reduced % LINK_TENSORS === 0) close();
  }
  if (group.length) close();
  // Links after all statistics: each link's previous link then outranks the link's own inputs.
  nodes.push(...stats, ...links);
  return { output: acc!, entries };
}

/**
 * A factory of Slice nodes taking element [0, 0] of a [1, N] tensor ([1, 1]). Slice-1 has its
 * starts/ends/axes as attributes; from opset 10 they are int64 inputs (initializers added once).
 */
function firstValue(opset: number, initializers: OnnxTensor[], fresh: (base: string) => string): (input: string, output: string) => OnnxNode {
  const ints = (name: string, v: number[]) => ({ name, type: AttributeType.INTS, ints: v });
  let names: string[] | undefined;
  return (input, output) => {
    if (opset < 10) {
      return { input: [input], output: [output], name: fresh(`${output}_slice`), opType: 'Slice', attribute: [ints('starts', [0]), ints('ends', [1]), ints('axes', [1])] };
    }
    if (!names) {
      names = ['starts', 'ends', 'axes'].map((k) => fresh(`qcal_first_${k}`));
      initializers.push(makeIntTensor(names[0]!, [1], DataType.INT64, [0]), makeIntTensor(names[1]!, [1], DataType.INT64, [1]), makeIntTensor(names[2]!, [1], DataType.INT64, [1]));
    }
    return { input: [input, ...names], output: [output], name: fresh(`${output}_slice`), opType: 'Slice', attribute: [] };
  };
}
