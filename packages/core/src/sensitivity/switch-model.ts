import { DataType, makeFloatTensor, makeIntTensor, type OnnxModel, type OnnxNode, type OnnxTensor } from '../onnx/model';
import { Constants } from '../qdq/constants';
import { NameScope, makeNode } from '../onnx/graph-builder';
import { buildQdqModel, prepareQdqWork, type QdqOptions, type QdqReport } from '../qdq/build-qdq';
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
  /** The bool scalar each switch gates with (index i: switch i), as read by its Where nodes. */
  readonly gates: readonly string[];
}

/**
 * One model that can quantize any subset of activations, so per-layer sensitivity needs one
 * onnxruntime session, not one QDQ model per layer. The QDQ writer builds the fully quantized
 * model; then every consumer of a tensor's DequantizeLinear output reads
 * `Where(switch[i], dequantized, original)` instead, where `switch` is a bool graph input
 * ({@link SWITCH_INPUT}). Where selects exactly, so all switches on computes what the QDQ model
 * computes in float simulation and all off the FP32 activations.
 *
 * A node's quantized constants (int8 weights, int32 bias, quantized Add/Mul operands) follow the
 * switch of the node's first quantized activation input: `Where(switch, dequantized, float)`, the
 * float value taken from the model as the writer saw it (opset-upgraded, BatchNorm folded). So
 * "tensor t on" quantizes t and the weights of the ops reading it, as the writer does when t is
 * the only table entry, and all switches off is the FP32 model.
 */
export function buildSwitchModel(model: OnnxModel, table: CalibrationTable, opts: QdqOptions = {}): SwitchModel {
  const built = buildQdqModel(model, table, opts);
  const g = built.model.graph!;
  const names = new NameScope(g);
  const switches = built.report.tensors.map((t) => t.name);
  const dqToSel = new Map<string, string>();
  const switchGate = new Map<string, string>(); // an activation's dq output → its switch (bool scalar)
  const gates: string[] = [];
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
    switchGate.set(dq, on);
    gates.push(on);
  });
  // Float originals of the quantized constants, from the graph the writer quantized.
  const work = prepareQdqWork(model, opts).fold.model;
  const consts = new Constants(work.graph!);
  const initNames = new Set(g.initializer.map((t) => t.name ?? ''));
  const constDq = new Map<string, string>(); // DequantizeLinear output → float constant name (in `work`)
  for (const n of g.node) {
    const q = n.input[0];
    if (n.opType !== 'DequantizeLinear' || !q || !initNames.has(q) || !n.output[0]) continue;
    const base = q.replace(/_quantized(_\d+)?$/, '');
    if (base !== q && consts.isFloat(base)) constDq.set(n.output[0], base);
  }
  const floatInit = new Map<string, string>();
  // Keep topological order: each Where right after its DequantizeLinear; constants' Where before their node.
  for (const n of after.get(-1) ?? []) extra.push(n);
  g.node.forEach((n, i) => {
    let node = n.input.some((x) => dqToSel.has(x)) ? { ...n, input: n.input.map((x) => dqToSel.get(x) ?? x) } : n;
    const act = n.input.find((x) => x && switchGate.has(x));
    if (act && n.input.some((x) => constDq.has(x))) {
      const gate = switchGate.get(act)!;
      node = { ...node, input: node.input.map((x, k) => {
        const base = constDq.get(n.input[k]!);
        if (!base) return x;
        let f = floatInit.get(base);
        if (!f) {
          const c = consts.get(base)!;
          f = names.fresh(`${base}_float`);
          inits.push(makeFloatTensor(f, c.dims, c.values));
          floatInit.set(base, f);
        }
        const sel = names.fresh(`${n.input[k]}_switched`);
        extra.push(makeNode('Where', [gate, n.input[k]!, f], [sel], names.fresh(`${sel}_Where`)));
        return sel;
      }) };
    }
    extra.push(node);
    for (const s of after.get(i) ?? []) extra.push(s);
  });
  const input = [...g.input, { name: SWITCH_INPUT, type: { tensorType: { elemType: DataType.BOOL, shape: { dim: [{ dimValue: switches.length }] } } } }];
  return { model: { ...built.model, graph: { ...g, node: extra, initializer: [...g.initializer, ...inits], input } }, switches, report: built.report, gates };
}
