import { encodeModel, type OnnxModel } from '../onnx/model';
import { indexGraph } from '../onnx/graph-index';
import type { PluginSearch } from '../plugins/resolve-plugin';
import { buildQdqModel, type QdqOptions } from '../qdq/build-qdq';
import { createSession, type SessionSettings } from '../runner/session';
import type { CalibrationTable, TableEntry } from '../table';
import { collectEvalSet, runEvalSet, type EvalItem, type EvalSet } from './eval-set';
import { loadFidelityMetric, type FidelityMetric, type ModelOutputs } from './fidelity-metric';
import { readModelInput, type ModelInput } from './model-input';

/** How the quantized activations are grouped for the choice (each group takes one collector's ranges). */
export type RangeGroupStage = 'op-type' | 'blocks';

export interface RangeChoiceOptions {
  model: ModelInput;
  /**
   * Tables of the same model and data by collector label; the first is the base (every tensor
   * starts with its range, and ties keep it). Tensors another table lacks keep the base's range.
   */
  tables: Readonly<Record<string, CalibrationTable>>;
  /** Samples the choice is measured on (the calibration samples: the FP32 model is the reference). */
  data: Iterable<EvalItem> | AsyncIterable<EvalItem> | EvalSet;
  /** Samples of `data` to use (default 16). */
  samples?: number;
  /** `cosine` (default), `sqnr`, a metric module or object; higher is better. */
  metric?: string | FidelityMetric;
  search?: PluginSearch;
  /**
   * The passes of coordinate descent, in order (default `['op-type']`): `op-type`
   * groups the tensors by the op that produces them (graph inputs together), `blocks` cuts the
   * graph-ordered list into `blocks` runs of consecutive tensors.
   */
  stages?: readonly RangeGroupStage[];
  /** Blocks of the `blocks` stage (default 6). */
  blocks?: number;
  /** `op-type` stage: op types with fewer than this share of the tensors form one group (default 0.03). */
  minGroupShare?: number;
  /**
   * A switch is kept only when it removes at least this share of the current harm (for `cosine`
   * harm is 1 − cosine; for other metrics the gain must exceed this share of |score|). Default
   * 0.02: gains smaller than that on a handful of calibration samples do not carry over to unseen
   * data. 0 keeps any strict gain.
   */
  minGain?: number;
  qdq?: QdqOptions;
  session?: SessionSettings;
  /** Called after every measured configuration. */
  onStep?: (step: RangeChoiceStep) => void;
}

export interface RangeChoiceStep {
  stage: RangeGroupStage;
  /** The group: an op type (`op-type`) or `tensors i..j` of the graph order (`blocks`). */
  group: string;
  tensors: number;
  collector: string;
  score: number;
  /** The metric on the even and on the odd batches (NaN for an empty half). */
  halves: [number, number];
  kept: boolean;
}

/** What a table built by {@link chooseRanges} records in `meta.rangeChoice`. */
export interface RangeChoiceMeta {
  /** Candidate collectors, base first. */
  collectors: string[];
  metric: string;
  samples: number;
  /** Metric on those samples: the base table's, the chosen mix's, and each candidate's alone. */
  score: { base: number; chosen: number; candidates: Record<string, number> };
  /** Quantized activations by the collector whose range they got. */
  counts: Record<string, number>;
  /** The groups that left the base collector, in the order they were switched. */
  switched: { stage: RangeGroupStage; group: string; tensors: number; collector: string; score: number }[];
  /** The QDQ writer's options the choice was measured with (it holds for models built with the same). */
  qdq: Record<string, unknown>;
  builds: number;
  ms: number;
}

export interface RangeChoiceResult {
  /** The base table with each quantized activation's range from the chosen collector (entries carry `collector`). */
  table: CalibrationTable;
  /** tensor → collector label, for every quantized activation, in graph order. */
  choice: Record<string, string>;
  meta: RangeChoiceMeta;
  steps: RangeChoiceStep[];
}

interface Score { all: number; halves: [number, number] }

const isEvalSet = (d: RangeChoiceOptions['data']): d is EvalSet => Array.isArray((d as EvalSet).batches) && typeof (d as EvalSet).samples === 'number';

function sameRange(a: TableEntry | undefined, b: TableEntry | undefined): boolean {
  return !!a && !!b && a.min === b.min && a.max === b.max;
}

/**
 * Groups of quantized activations for one stage of the descent, each in graph order. `op-type`:
 * one group per producing op type (graph inputs: `graph input`); op types with fewer than
 * `minShare` of the tensors go together into `other ops` (a build each would cost as much as for
 * a big group, for little to gain).
 */
export function rangeGroups(model: OnnxModel, tensors: readonly string[], stage: RangeGroupStage, blocks = 8, minShare = 0): { name: string; tensors: string[] }[] {
  if (stage === 'blocks') {
    const n = Math.max(1, Math.min(blocks, tensors.length));
    const size = Math.ceil(tensors.length / n);
    const out: { name: string; tensors: string[] }[] = [];
    for (let i = 0; i < tensors.length; i += size) out.push({ name: `tensors ${i + 1}..${Math.min(tensors.length, i + size)}`, tensors: tensors.slice(i, i + size) });
    return out;
  }
  const idx = indexGraph(model);
  const byType = new Map<string, string[]>();
  for (const t of tensors) {
    const info = idx.tensors.get(t);
    const key = !info || info.isGraphInput ? 'graph input' : info.opType;
    byType.set(key, [...(byType.get(key) ?? []), t]);
  }
  const small = (name: string, n: number) => name !== 'graph input' && n < minShare * tensors.length;
  const groups = [...byType].filter(([name, ts]) => !small(name, ts.length)).map(([name, ts]) => ({ name, tensors: ts }));
  const rest = tensors.filter((t) => { const info = idx.tensors.get(t); const key = !info || info.isGraphInput ? 'graph input' : info.opType; return small(key, byType.get(key)!.length); });
  if (rest.length) groups.push({ name: `other ops (${[...byType].filter(([name, ts]) => small(name, ts.length)).map(([name]) => name).join(', ')})`, tensors: rest });
  return groups;
}

/**
 * A range per quantized activation chosen among several collectors' tables by measured harm:
 * greedy coordinate descent over groups of tensors, each configuration scored on a real QDQ model
 * (the writer's build, one onnxruntime session, the FP32 model's outputs on `data` as reference).
 * Start: every tensor with the base table's range, or the best candidate's alone when that is
 * better. Each stage cuts the tensors into groups (by producing op type, then, with `blocks`, by
 * position); for each group every other collector's ranges are tried in its place (one build
 * each; skipped where they equal the current ones) and the best kept when it removes at least
 * `minGain` of the harm and is not worse on either half (even / odd batches) of the samples — the
 * guard against gains a few samples carry. Cost: one build per candidate, then (collectors − 1)
 * × groups builds; every build runs the same `samples` samples. Deterministic: groups and
 * collectors are tried in a fixed order. Measure the result on held-out data: the choice only
 * sees the samples it was given.
 */
export async function chooseRanges(opts: RangeChoiceOptions): Promise<RangeChoiceResult> {
  const t0 = performance.now();
  const labels = Object.keys(opts.tables);
  if (!labels.length) throw new RangeError('chooseRanges: no tables');
  const base = opts.tables[labels[0]!]!;
  const src = readModelInput(opts.model);
  const metric = loadFidelityMetric(opts.metric ?? 'cosine', opts.search);
  const evalSet = isEvalSet(opts.data) ? opts.data : await collectEvalSet(opts.data, opts.samples ?? 16);
  if (!evalSet.batches.length) throw new RangeError('chooseRanges: no samples to measure on');
  const outputs = src.model.graph!.output.map((o) => o.name);
  const fp = await createSession(src.bytes, src.where, opts.session);
  let reference: ModelOutputs[];
  try { reference = await runEvalSet(fp, evalSet, outputs, src.where); } finally { await fp.release(); }

  let builds = 0;
  const tableOf = (choice: ReadonlyMap<string, string>): CalibrationTable => {
    const tensors: Record<string, TableEntry> = { ...base.tensors };
    for (const [t, l] of choice) {
      const e = opts.tables[l]!.tensors[t];
      if (e) tensors[t] = { ...e, collector: l };
    }
    return { ...base, tensors };
  };
  // Each configuration is scored on all samples and on the two halves (even / odd batches): a
  // switch must help on both halves, so a gain that a few samples carry does not count.
  const halves = [0, 1].map((h) => evalSet.batches.map((_, i) => i).filter((i) => i % 2 === h));
  const score = async (table: CalibrationTable, label: string): Promise<Score> => {
    const q = buildQdqModel(src.model, table, opts.qdq).model;
    builds++;
    const s = await createSession(encodeModel(q), `${src.where} (QDQ, ${label})`, opts.session);
    try {
      const out = await runEvalSet(s, evalSet, outputs, 'QDQ model');
      const part = (ix: number[]) => (ix.length ? metric.metric(ix.map((i) => reference[i]!), ix.map((i) => out[i]!)) : NaN);
      return { all: metric.metric(reference, out), halves: [part(halves[0]!), part(halves[1]!)] };
    } finally { await s.release(); }
  };
  const quantized = buildQdqModel(src.model, base, opts.qdq).report.tensors.map((t) => t.name);
  const choice = new Map(quantized.map((t) => [t, labels[0]!]));
  const alone: Record<string, Score> = {};
  alone[labels[0]!] = await score(base, labels[0]!);
  for (const l of labels.slice(1)) alone[l] = await score(tableOf(new Map(quantized.map((t) => [t, l]))), l);
  const candidates = Object.fromEntries(labels.map((l) => [l, alone[l]!.all]));
  let current = alone[labels[0]!]!;
  const baseScore = current.all;
  const minGain = opts.minGain ?? 0.02;
  const gains = (s: number, than: number): boolean => {
    if (!(s > than)) return false;
    const need = metric.name === 'cosine' ? minGain * (1 - than) : minGain * Math.abs(than);
    return s - than >= need;
  };
  // Better overall by minGain, and not worse on either half (a half with one batch still counts).
  const better = (s: Score, than: Score): boolean => gains(s.all, than.all) && s.halves.every((h, i) => Number.isNaN(h) || h >= than.halves[i]!);
  // The best single candidate is the start when it beats the base (a whole-model switch is a group too).
  const bestAlone = labels.reduce((b, l) => (alone[l]!.all > alone[b]!.all ? l : b), labels[0]!);
  const steps: RangeChoiceStep[] = [];
  const switched: RangeChoiceMeta['switched'] = [];
  if (bestAlone !== labels[0] && better(alone[bestAlone]!, current)) {
    for (const t of quantized) choice.set(t, bestAlone);
    current = alone[bestAlone]!;
    switched.push({ stage: 'op-type', group: 'all', tensors: quantized.length, collector: bestAlone, score: current.all });
  }
  for (const stage of opts.stages ?? ['op-type']) {
    for (const g of rangeGroups(src.model, quantized, stage, opts.blocks ?? 6, opts.minGroupShare ?? 0.03)) {
      let best: { label: string; score: Score } | undefined;
      for (const l of labels) {
        // Nothing to try when the group already has this collector's ranges (or the same values).
        if (g.tensors.every((t) => choice.get(t) === l || sameRange(opts.tables[l]!.tensors[t], opts.tables[choice.get(t)!]!.tensors[t]) || !opts.tables[l]!.tensors[t])) continue;
        const trial = new Map(choice);
        for (const t of g.tensors) if (opts.tables[l]!.tensors[t]) trial.set(t, l);
        const s = await score(tableOf(trial), `${stage} ${g.name} → ${l}`);
        const kept = better(s, best?.score ?? current);
        steps.push({ stage, group: g.name, tensors: g.tensors.length, collector: l, score: s.all, halves: s.halves, kept });
        opts.onStep?.(steps[steps.length - 1]!);
        if (kept) best = { label: l, score: s };
      }
      if (best) {
        for (const t of g.tensors) if (opts.tables[best.label]!.tensors[t]) choice.set(t, best.label);
        current = best.score;
        switched.push({ stage, group: g.name, tensors: g.tensors.length, collector: best.label, score: best.score.all });
      }
    }
  }
  const counts: Record<string, number> = Object.fromEntries(labels.map((l) => [l, 0]));
  for (const l of choice.values()) counts[l]!++;
  const meta: RangeChoiceMeta = {
    collectors: labels, metric: metric.name, samples: evalSet.samples,
    score: { base: baseScore, chosen: current.all, candidates }, counts, switched,
    qdq: JSON.parse(JSON.stringify(opts.qdq ?? {})) as Record<string, unknown>, builds, ms: Math.round(performance.now() - t0),
  };
  const chosen = tableOf(choice);
  const table: CalibrationTable = { ...chosen, collector: 'auto', options: { collectors: labels }, meta: { ...base.meta, rangeChoice: meta } };
  return { table, choice: Object.fromEntries(choice), meta, steps };
}
