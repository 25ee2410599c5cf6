import { DataType, type OnnxModel } from '../onnx/model';
import { indexGraph } from '../onnx/graph-index';
import { upgradeOpset } from '../onnx/opset-upgrade';
import { Constants } from './constants';
import { foldBatchNorms } from './fold-batchnorm';
import { planQdq, type QuantizeMode } from './qdq-plan';

/**
 * The activations of `model` that {@link buildQdqModel} (same `quantizeMode`, no exclusions, BN
 * folding on) would give Q/DQ if the table had a range for every float activation: what a
 * calibration must cover for that QDQ model, and nothing more. The plan is the writer's own
 * (`upgradeOpset` → `foldBatchNorms` → `planQdq`); a table restricted to this set gives the same
 * QDQ model as a table of every tensor. Names are the original model's (upgrade and folding keep
 * them; a Conv output removed by folding is not in the set: the BN output is).
 * Returns undefined when the writer cannot handle the model (e.g. an opset upgrade it refuses):
 * then every tensor should be calibrated.
 */
export function quantizedTensorNames(model: OnnxModel, quantizeMode: QuantizeMode = 'smart'): Set<string> | undefined {
  let work: OnnxModel;
  try {
    work = foldBatchNorms(upgradeOpset(model, 13).model).model;
  } catch {
    return undefined;
  }
  const idx = indexGraph(work);
  const ranged = new Set<string>();
  for (const [name, t] of idx.tensors) if (!t.isConstant && t.elemType === DataType.FLOAT) ranged.add(name);
  const consts = new Constants(work.graph!);
  // The main graph and every If/Loop/Scan body, each planned on its own nodes (as buildQdqModel does).
  const chosen = new Set<string>();
  for (const nodes of [idx.nodes, ...idx.subgraphs.map((s) => s.graph.node)]) {
    for (const t of planQdq({ ...idx, nodes }, consts, ranged, quantizeMode, () => false).tensors) chosen.add(t);
  }
  const original = new Set(indexGraph(model).calibratable.map((t) => t.name));
  return new Set([...chosen].filter((t) => original.has(t)));
}
