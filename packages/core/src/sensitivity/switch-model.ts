import { DataType, makeIntTensor, type OnnxModel, type OnnxNode, type OnnxTensor } from '../onnx/model';
import { NameScope, makeNode } from '../onnx/graph-builder';
import { buildQdqModel, type QdqOptions, type QdqReport } from '../qdq/build-qdq';
import type { CalibrationTable } from '../table';

/** Name of the bool[N] graph input of a switch model: element i turns tensor `switches[i]`'s fake quantization on. */
export const SWITCH_INPUT = 'qcal_quantize_switch';

export interface SwitchModel {
  /** The QDQ model with every activation Q/DQ pair behind a switch. */
  readonly model: OnnxModel;
  /** Quantized activations in graph order: index i is switch i. */
  readonly switches: readonly string[];
  /** The QDQ writer's report for the fully quantized model (all switches on). */
  readonly report: QdqReport;
}

/**
 * One model that can quantize any subset of activations, so per-layer sensitivity needs one
 * onnxruntime session, not one QDQ model per layer. The QDQ writer builds the fully quantized
 * model; then every consumer of a tensor's DequantizeLinear output reads
 * `Where(switch[i], dequantized, original)` instead, where `switch` is a bool graph input
 * ({@link SWITCH_INPUT}). Where selects exactly, so all switches on computes what the QDQ model
 * computes in float simulation and all off the FP32 activations.
 *
 * Weights (per-channel int8) and constant operands stay quantized in every configuration: the
 * switches measure activation quantization on top of int8 weights. (The QDQ writer leaves a
 * node's weights float when its input is excluded; the fallback search measures that with
 * real writer builds.)
 */
export function buildSwitchModel(model: OnnxModel, table: CalibrationTable, opts: QdqOptions = {}): SwitchModel {
  const built = buildQdqModel(model, table, opts);
  const g = built.model.graph!;
  const names = new NameScope(g);
  const switches = built.report.tensors.map((t) => t.name);
  const dqToSel = new Map<string, string>();
  const extra: OnnxNode[] = [];
  const inits: OnnxTensor[] = [];
  const producedBy = new Map<string, number>();
  g.node.forEach((n, i) => { for (const o of n.output) if (o) producedBy.set(o, i); });
  const after = new Map<number, OnnxNode[]>();
  switches.forEach((t, i) => {
    const dq = built.report.dequantized[t]!;
    const idx = names.fresh(`${t}_switch_index`), on = names.fresh(`${t}_switch`), sel = names.fresh(`${t}_switched`);
    inits.push(makeIntTensor(idx, [], DataType.INT64, [i]));
    const nodes = [
      makeNode('Gather', [SWITCH_INPUT, idx], [on], names.fresh(`${t}_switch_Gather`)),
      makeNode('Where', [on, dq, t], [sel], names.fresh(`${t}_switch_Where`)),
    ];
    const at = producedBy.get(dq) ?? -1;
    after.set(at, [...(after.get(at) ?? []), ...nodes]);
    dqToSel.set(dq, sel);
  });
  // Keep topological order: each Where right after its DequantizeLinear.
  for (const n of after.get(-1) ?? []) extra.push(n);
  g.node.forEach((n, i) => {
    extra.push(n.input.some((x) => dqToSel.has(x)) ? { ...n, input: n.input.map((x) => dqToSel.get(x) ?? x) } : n);
    for (const s of after.get(i) ?? []) extra.push(s);
  });
  const input = [...g.input, { name: SWITCH_INPUT, type: { tensorType: { elemType: DataType.BOOL, shape: { dim: [{ dimValue: switches.length }] } } } }];
  return { model: { ...built.model, graph: { ...g, node: extra, initializer: [...g.initializer, ...inits], input } }, switches, report: built.report };
}
