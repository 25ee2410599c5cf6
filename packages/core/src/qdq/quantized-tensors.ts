import { DataType, type OnnxModel } from '../onnx/model';
import { indexGraph, type GraphIndex } from '../onnx/graph-index';
import { Constants } from './constants';
import { prepareQdqShape, type QdqOptions } from './build-qdq';
import { findActivationChains } from './passes/fuse-activations';
import { planQdq, type QuantizeMode } from './qdq-plan';

/**
 * The activations of `model` that {@link buildQdqModel} (same `quantizeMode` and passes, no
 * exclusions, BN folding on) would give Q/DQ if the table had a range for every float activation:
 * what a calibration must cover for that QDQ model, and nothing more. The plan is the writer's own
 * (`prepareQdqWork`: opset upgrade, BatchNormalization and — unless `foldAffine: false` — constant
 * Mul/Add folding; then, unless `fuseActivations: false`, the tensors inside decomposed HardSwish
 * chains are left out, as the writer leaves them float). A table restricted to this set gives the
 * same QDQ model as a table of every tensor, with the same options; with a pass turned off later,
 * the tensors it would have needed are missing from such a table and stay float. Names are the
 * original model's (the passes keep them; a tensor removed by folding is not in the set: the
 * folded op's output is).
 * Returns undefined when the writer cannot handle the model (e.g. an opset upgrade it refuses):
 * then every tensor should be calibrated. `index`: the model's own indexGraph, when the caller has it.
 */
export function quantizedTensorNames(model: OnnxModel, quantizeMode: QuantizeMode = 'smart', opts: Pick<QdqOptions, 'foldAffine' | 'fuseActivations'> & { index?: GraphIndex } = {}): Set<string> | undefined {
  let work: OnnxModel;
  try {
    // The writer's graph without its weight arithmetic (every calibrate run computes this set:
    // on the PP-OCRv4 recognizer ~130 → ~50 ms cold). Nothing below reads a folded weight's values.
    work = prepareQdqShape(model, opts.foldAffine === false ? { foldAffine: false } : {}).fold.model;
  } catch {
    return undefined;
  }
  return quantizedTensorsOf(model, work, quantizeMode, opts);
}

/** quantizedTensorNames from the writer's prepared float model `work` (exported for tests: with `prepareQdqWork`'s, the set is the same). */
export function quantizedTensorsOf(model: OnnxModel, work: OnnxModel, quantizeMode: QuantizeMode = 'smart', opts: Pick<QdqOptions, 'fuseActivations'> & { index?: GraphIndex } = {}): Set<string> {
  const chains = opts.fuseActivations === false ? [] : findActivationChains(work);
  const inner = new Set(chains.flatMap((c) => c.internal));
  const chainNodes = new Set(chains.flatMap((c) => [...c.nodes, ...c.affine]));
  const idx = indexGraph(work);
  const ranged = new Set<string>();
  for (const [name, t] of idx.tensors) if (!t.isConstant && t.elemType === DataType.FLOAT && !inner.has(name)) ranged.add(name);
  const consts = new Constants(work.graph!);
  // The main graph and every If/Loop/Scan body, each planned on its own nodes (as buildQdqModel does).
  const chosen = new Set<string>();
  for (const nodes of [idx.nodes, ...idx.subgraphs.map((s) => s.graph.node)]) {
    for (const t of planQdq({ ...idx, nodes }, consts, ranged, quantizeMode, (n) => chainNodes.has(n)).tensors) chosen.add(t);
  }
  const original = new Set((opts.index ?? indexGraph(model)).calibratable.map((t) => t.name));
  return new Set([...chosen].filter((t) => original.has(t)));
}
