import { encodeModel } from '../onnx/model';
import type { PluginSearch } from '../plugins/resolve-plugin';
import { buildQdqModel, type QdqOptions } from '../qdq/build-qdq';
import { createSession, type SessionSettings } from '../runner/session';
import type { CalibrationTable, TableEntry } from '../table';
import { collectEvalSet, runEvalSet, type EvalItem } from './eval-set';
import { loadFidelityMetric, type FidelityMetric, type ModelOutputs } from './fidelity-metric';
import { readModelInput, type ModelInput } from './model-input';
import { createSensitivityProbe } from './sensitivity-probe';

export interface CollectorChoiceOptions {
  model: ModelInput;
  /** Tables of the same model by collector label, in order of preference (ties go to the first). */
  tables: Readonly<Record<string, CalibrationTable>>;
  data: Iterable<EvalItem> | AsyncIterable<EvalItem>;
  evalSamples?: number;
  metric?: string | FidelityMetric;
  search?: PluginSearch;
  qdq?: QdqOptions;
  session?: SessionSettings;
  onProgress?: (done: number, total: number) => void;
}

export interface CollectorChoice {
  tensor: string;
  collector: string;
  /** Metric with only this tensor quantized, per collector's range. */
  scores: Record<string, number>;
}

export interface CollectorChoiceResult {
  /** One table with each tensor's range from the collector that harms the output least; entries carry `collector`. */
  table: CalibrationTable;
  choices: CollectorChoice[];
  /** Metric of the fully quantized real QDQ model per collector table and for the mixed table. */
  allQuantized: Record<string, number>;
  samples: number;
  cost: { inferences: number; ms: number };
}

/**
 * Picks a collector per layer (as tpu-mlir's search_qtable picks a method per layer): every
 * tensor is quantized alone with each collector's range (one switch-model session per table) and
 * takes the range with the best metric; tensors some table lacks keep the first table's entry.
 * Cost: tables × quantized activations × evaluation batches inferences. The choice is greedy per
 * tensor (interactions are not searched); `allQuantized` says whether the mix pays off.
 */
export async function chooseCollectorPerLayer(opts: CollectorChoiceOptions): Promise<CollectorChoiceResult> {
  const t0 = performance.now();
  const labels = Object.keys(opts.tables);
  if (!labels.length) throw new RangeError('chooseCollectorPerLayer: no tables');
  const src = readModelInput(opts.model);
  const metric = loadFidelityMetric(opts.metric ?? 'cosine', opts.search);
  const evalSet = await collectEvalSet(opts.data, opts.evalSamples ?? 8);
  const outputs = src.model.graph!.output.map((o) => o.name);
  const fp = await createSession(src.bytes, src.where, opts.session);
  let reference: ModelOutputs[];
  try { reference = await runEvalSet(fp, evalSet, outputs, src.where); } finally { await fp.release(); }

  const scores = new Map<string, Record<string, number>>();
  let inferences = 0, done = 0;
  let order: string[] = [];
  for (const label of labels) {
    const probe = await createSensitivityProbe({ ...src, table: opts.tables[label]!, evalSet, metric, qdq: opts.qdq, session: opts.session, reference });
    try {
      if (!order.length) order = [...probe.switches];
      const total = labels.length * probe.switches.length;
      for (const t of probe.switches) {
        const s = await probe.score(new Set([t]));
        scores.set(t, { ...scores.get(t), [label]: s });
        opts.onProgress?.(++done, total);
      }
      inferences += probe.inferences;
    } finally { await probe.release(); }
  }
  const first = opts.tables[labels[0]!]!;
  const tensors: Record<string, TableEntry> = { ...first.tensors };
  const choices: CollectorChoice[] = [];
  for (const t of order) {
    const s = scores.get(t)!;
    let best = labels[0]!;
    for (const l of labels) if (opts.tables[l]!.tensors[t] && (s[l] ?? -Infinity) > (s[best] ?? -Infinity)) best = l;
    tensors[t] = { ...opts.tables[best]!.tensors[t]!, collector: best };
    choices.push({ tensor: t, collector: best, scores: s });
  }
  const table: CalibrationTable = { ...first, collector: `mixed(${labels.join(',')})`, tensors, meta: { ...first.meta, mixedFrom: labels } };
  const allQuantized: Record<string, number> = {};
  for (const [label, tb] of [...labels.map((l) => [l, opts.tables[l]!] as const), ['mixed', table] as const]) {
    const s = await createSession(encodeModel(buildQdqModel(src.model, tb, opts.qdq).model), `${src.where} (QDQ, ${label})`, opts.session);
    try { allQuantized[label] = metric.metric(reference, await runEvalSet(s, evalSet, outputs, 'QDQ model')); } finally { await s.release(); }
    inferences += evalSet.batches.length;
  }
  return { table, choices, allQuantized, samples: evalSet.samples, cost: { inferences, ms: performance.now() - t0 } };
}
