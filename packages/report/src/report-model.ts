import * as path from 'node:path';
import { QCAL_VERSION, type RunRecord, type TensorHistogram, type TensorMetrics, type FloatFallbackMeta } from '@qcal/core';
import type { ReportInputs } from './read-output-dir';

/** One tensor as the page shows it. */
export interface ReportTensor {
  name: string;
  /** Producing node ('' for a graph input) and its op type. */
  op: string;
  opType: string;
  dims?: readonly number[];
  hist?: Omit<TensorHistogram, 'op' | 'opType' | 'dims'>;
  /** Range chosen per collector label (tables; ranges of float-fallback tensors too). */
  ranges: Record<string, [number, number]>;
  /** Collector labels whose fallback search kept this tensor in higher precision. */
  float: string[];
  /** NaN / ±Inf counts a collector recorded (minmax does: exact, every value). */
  nonFinite?: { nan: number; inf: number; by: string };
  /** FP32 vs INT8 per collector label (per-layer evaluation). */
  eval: Record<string, { cosine: number; sqnrDb: number; maxAbsError: number }>;
  /** Sensitivity per collector label: loss (quantized alone), gain (float alone), rank (1 = most harmful). */
  harm: Record<string, { loss?: number; gain?: number; block?: number; rank: number }>;
}

export interface ReportCollector {
  label: string;
  name: string;
  options: Record<string, unknown>;
  samples?: number;
  tensors: number;
  createdAt?: string;
  qcalVersion?: string;
  floatFallback?: { metric?: string; target?: number; reached?: number; tensors: string[] };
}

export interface ReportEvaluation {
  label: string;
  samples: number;
  outputs: TensorMetrics[];
  latency?: { fp32Ms: number; int8Ms: number; runs: number };
  layers: number;
  missing: number;
}

export interface ReportSensitivity {
  label: string;
  kind: 'fallback' | 'sensitivity';
  metric: string;
  rankedBy: 'loss' | 'gain';
  samples?: number;
  /** Metric of the fully quantized model (search samples / held-out where measured). */
  allQuantized?: number;
  noneQuantized?: number;
  /** Fallback only. */
  target?: number;
  met?: boolean;
  exclude?: string[];
  score?: { search: number; heldOut?: number };
  allQuantizedHeldOut?: number;
  trials?: { stage: string; floatTensors: number; score: number; on: string }[];
  cost?: Record<string, number>;
}

/** All the page needs, embedded in it as JSON. */
export interface ReportModel {
  title: string;
  generatedAt: string;
  generator: string;
  dir: string;
  run?: Omit<RunRecord, 'histograms'>;
  histograms?: { bins: number; stride: number; ms: number };
  collectors: ReportCollector[];
  tensors: ReportTensor[];
  evaluations: ReportEvaluation[];
  sensitivities: ReportSensitivity[];
  snapshots: { label: string; collector: string; samples: number; tensors: number; shard: { index: number; count: number } }[];
  problems: string[];
}

/** Builds the page model from an output directory's files; tensors in graph order. */
export function buildReportModel(inputs: ReportInputs): ReportModel {
  const { run } = inputs;
  const tensors = new Map<string, ReportTensor>();
  const get = (name: string, op = '', opType = ''): ReportTensor => {
    let t = tensors.get(name);
    if (!t) tensors.set(name, (t = { name, op, opType, ranges: {}, float: [], eval: {}, harm: {} }));
    if (!t.op && op) t.op = op;
    if (!t.opType && opType) t.opType = opType;
    return t;
  };
  // Graph order: the run's histograms are in graph order; tables are too (plan order).
  if (run?.histograms) {
    for (const [name, h] of Object.entries(run.histograms.tensors)) {
      const { op, opType, dims, ...hist } = h;
      const t = get(name, op, opType);
      t.dims = dims;
      t.hist = hist;
    }
  }
  const collectors: ReportCollector[] = [];
  for (const [label, table] of inputs.tables) {
    const fb = table.meta?.floatFallback as FloatFallbackMeta | undefined;
    for (const [name, e] of Object.entries(table.tensors)) {
      const t = get(name, e.op === name ? '' : e.op, typeof e.opType === 'string' ? e.opType : '');
      t.ranges[label] = [e.min, e.max];
      const nan = typeof e.nanCount === 'number' ? e.nanCount : 0;
      const inf = typeof e.infCount === 'number' ? e.infCount : 0;
      if ((nan || inf) && !t.nonFinite) t.nonFinite = { nan, inf, by: label };
    }
    for (const [name, e] of Object.entries(fb?.tensors ?? {})) {
      const t = get(name, e.op === name ? '' : e.op, typeof e.opType === 'string' ? e.opType : '');
      t.ranges[label] = [e.min, e.max];
      t.float.push(label);
    }
    const fromRun = run?.collectors.find((c) => c.label === label);
    collectors.push({
      label,
      name: table.collector,
      options: table.options,
      samples: table.samples,
      tensors: Object.keys(table.tensors).length + Object.keys(fb?.tensors ?? {}).length,
      ...(table.meta?.createdAt ? { createdAt: table.meta.createdAt } : {}),
      ...(table.meta?.qcalVersion ? { qcalVersion: table.meta.qcalVersion } : {}),
      ...(fb ? { floatFallback: { ...(fb.metric ? { metric: fb.metric } : {}), ...(fb.target !== undefined ? { target: fb.target } : {}), ...(fb.reached !== undefined ? { reached: fb.reached } : {}), tensors: Object.keys(fb.tensors) } } : {}),
      ...(fromRun && !table.options ? { options: fromRun.options } : {}),
    });
  }
  // A run record without tables (a shard directory, or tables not written yet).
  for (const c of run?.collectors ?? []) {
    if (!inputs.tables.has(c.label)) collectors.push({ label: c.label, name: c.name, options: c.options, tensors: c.tensors, samples: run!.data.samples });
  }
  const evaluations: ReportEvaluation[] = [];
  for (const [label, e] of inputs.evaluations) {
    for (const l of e.layers ?? []) get(l.name).eval[label] = { cosine: l.cosine, sqnrDb: l.sqnrDb, maxAbsError: l.maxAbsError };
    evaluations.push({ label, samples: e.samples, outputs: e.outputs, ...(e.latency ? { latency: e.latency } : {}), layers: e.layers?.length ?? 0, missing: e.missing?.length ?? 0 });
  }
  const sensitivities: ReportSensitivity[] = [];
  for (const [label, s] of inputs.sensitivities) {
    s.layers.forEach((l, i) => { get(l.tensor, l.op, l.opType).harm[label] = { ...(l.loss !== undefined ? { loss: l.loss } : {}), ...(l.gain !== undefined ? { gain: l.gain } : {}), rank: i + 1 }; });
    sensitivities.push({ label, kind: 'sensitivity', metric: s.metric, rankedBy: s.rankedBy, samples: s.samples, allQuantized: s.baseline.allQuantized, noneQuantized: s.baseline.noneQuantized, cost: s.cost });
  }
  for (const [label, f] of inputs.fallbacks) {
    // A separate sensitivity report of the same collector wins for the per-layer harm.
    if (!inputs.sensitivities.has(label)) {
      f.ranking.forEach((l, i) => {
        const block = (l as { blockHarm?: unknown }).blockHarm;
        get(l.tensor, l.op, l.opType).harm[label] = { ...(l.loss !== undefined ? { loss: l.loss } : {}), ...(l.gain !== undefined ? { gain: l.gain } : {}), ...(typeof block === 'number' ? { block } : {}), rank: i + 1 };
      });
    }
    sensitivities.push({
      label,
      kind: 'fallback',
      metric: f.metric,
      rankedBy: f.ranking.some((l) => l.loss !== undefined) ? 'loss' : 'gain',
      samples: f.samples.search,
      allQuantized: f.allQuantized.search,
      ...(f.allQuantized.heldOut !== undefined ? { allQuantizedHeldOut: f.allQuantized.heldOut } : {}),
      target: f.target,
      met: f.met,
      exclude: f.exclude,
      score: f.score,
      trials: f.trials,
      cost: f.cost,
    });
  }
  const runWithout = run ? (({ histograms: _h, ...rest }) => rest)(run) : undefined;
  const modelName = run?.model ?? [...inputs.tables.values()][0]?.model ?? '';
  return {
    title: `qcal report — ${modelName ? path.basename(modelName) : path.basename(path.resolve(inputs.dir))}`,
    generatedAt: new Date().toISOString(),
    generator: QCAL_VERSION,
    dir: path.resolve(inputs.dir),
    ...(runWithout ? { run: runWithout } : {}),
    ...(run?.histograms ? { histograms: { bins: run.histograms.bins, stride: run.histograms.stride, ms: run.histograms.ms } } : {}),
    collectors,
    tensors: [...tensors.values()],
    evaluations,
    sensitivities,
    snapshots: [...inputs.snapshots].map(([label, s]) => ({ label, ...s })),
    problems: [...inputs.problems],
  };
}
