import type { OnnxModel, OnnxNode, OnnxValueInfo } from '../onnx/model';
import { inferElementTypes } from '../onnx/type-inference';
import { SWITCH_INPUT } from './switch-model';

/**
 * A (restricted) switch model cut where the switches start to matter: `prefix` computes what no
 * switch reaches (the same for every mask), `suffix` the rest from the prefix's `frontier`
 * tensors, the graph inputs it reads and the mask. Scoring many masks then runs the prefix once
 * per evaluation batch and the suffix per mask.
 */
export interface SwitchSplit {
  readonly prefix: OnnxModel;
  readonly suffix: OnnxModel;
  /** Prefix outputs the suffix reads (fed to it). */
  readonly frontier: readonly string[];
  /** Graph outputs no switch reaches: taken from the prefix. */
  readonly fixedOutputs: readonly string[];
  /** Graph outputs the suffix computes. */
  readonly suffixOutputs: readonly string[];
  /** Nodes in the suffix / in the whole model (what a mask costs, relative). */
  readonly suffixNodes: number;
  readonly nodes: number;
}

/** The least share of the non-constant nodes before the first switch for a split to pay. */
const MIN_PREFIX_SHARE = 0.1;

/**
 * Splits `model` (graph nodes in topological order, as ONNX requires) at the switch input. Returns
 * undefined when it cannot (a node with a subgraph, a frontier tensor of unknown element type) —
 * the caller then runs the whole model.
 */
export function splitAtSwitches(model: OnnxModel): SwitchSplit | undefined {
  const g = model.graph!;
  if (g.node.some((n) => n.attribute?.some((a) => a.g || a.graphs?.length))) return undefined;
  const inits = new Map(g.initializer.map((t) => [t.name ?? '', t]));
  const graphInputs = new Map(g.input.map((i) => [i.name, i]));
  // Constants (computed from initializers only, e.g. a weight's DequantizeLinear) go with whoever
  // reads them; the prefix is what the graph inputs feed before any switch.
  const constant = new Set<string>(inits.keys());
  const tainted = new Set<string>([SWITCH_INPUT]);
  const late: OnnxNode[] = [];
  const early: OnnxNode[] = [];
  const constNodes: OnnxNode[] = [];
  for (const n of g.node) {
    const ins = n.input.filter((x) => x);
    if (ins.some((x) => tainted.has(x))) {
      late.push(n);
      for (const o of n.output) if (o) tainted.add(o);
    } else if (ins.every((x) => constant.has(x))) {
      constNodes.push(n);
      for (const o of n.output) if (o) constant.add(o);
    } else early.push(n);
  }
  const lateReads = new Set<string>();
  for (const n of late) for (const x of n.input) if (x) lateReads.add(x);
  // The constant producers the suffix reads (and theirs), in graph order.
  const lateConst = new Set<string>();
  for (let i = constNodes.length - 1; i >= 0; i--) {
    const n = constNodes[i]!;
    if (n.output.some((o) => o && (lateReads.has(o) || lateConst.has(o)))) for (const x of n.input) if (x) lateConst.add(x);
  }
  const suffixConst = constNodes.filter((n) => n.output.some((o) => o && (lateReads.has(o) || lateConst.has(o))));
  for (const n of suffixConst) for (const x of n.input) if (x) lateReads.add(x);
  const frontier = [...lateReads].filter((x) => !tainted.has(x) && !constant.has(x) && !graphInputs.has(x));
  const fixedOutputs = g.output.filter((o) => !tainted.has(o.name)).map((o) => o.name);
  const suffixOutputs = g.output.filter((o) => tainted.has(o.name)).map((o) => o.name);
  // Too little before the switches (a block near the model's start) to be worth a second session.
  // (No output the switches reach: the unsplit model, as before, rather than an empty suffix.)
  if (suffixOutputs.length === 0 || frontier.length + fixedOutputs.length === 0 || early.length < MIN_PREFIX_SHARE * (early.length + late.length)) return undefined;
  const types = inferElementTypes(model);
  if (frontier.some((x) => !types.get(x))) return undefined;

  // Prefix: only the early nodes its outputs need.
  const wanted = new Set([...frontier, ...fixedOutputs]);
  const needed = new Set(wanted);
  const prefixNodes: OnnxNode[] = [];
  const before = g.node.filter((n) => !late.includes(n));
  for (let i = before.length - 1; i >= 0; i--) {
    const n = before[i]!;
    if (!n.output.some((o) => o && needed.has(o))) continue;
    prefixNodes.unshift(n);
    for (const x of n.input) if (x) needed.add(x);
  }
  const vi = (name: string): OnnxValueInfo => ({ name, type: { tensorType: { elemType: types.get(name)! } } });
  const prefix: OnnxModel = {
    ...model,
    graph: {
      ...g,
      node: prefixNodes,
      initializer: g.initializer.filter((t) => needed.has(t.name ?? '')),
      input: g.input.filter((i) => needed.has(i.name) && i.name !== SWITCH_INPUT),
      output: [...wanted].map((n) => g.output.find((o) => o.name === n) ?? vi(n)),
      valueInfo: [],
    },
  };
  const suffix: OnnxModel = {
    ...model,
    graph: {
      ...g,
      node: [...suffixConst, ...late],
      initializer: g.initializer.filter((t) => lateReads.has(t.name ?? '')),
      input: [...g.input.filter((i) => lateReads.has(i.name)), ...frontier.map(vi)],
      output: g.output.filter((o) => tainted.has(o.name)),
      valueInfo: [],
    },
  };
  return { prefix, suffix, frontier, fixedOutputs, suffixOutputs, suffixNodes: suffixConst.length + late.length, nodes: g.node.length };
}
