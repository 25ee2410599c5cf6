import * as path from 'node:path';
import type { CalibrationCollector, PostCollectContext } from '../collector';
import type { TensorRange } from '../tensor';
import type { Logger } from '../logger';
import { silentLogger } from '../logger';
import type { CalibrationTable } from '../table';
import type { ResolvedCollector, CollectorRegistry } from '../plugins';
import { instantiateCollector } from '../plugins';
import { validateOptions } from '../options-schema';
import { PluginError } from '../errors';
import { createTuningContext } from '../tuning';
import { loadModel, encodeModel } from '../onnx/model';
import { indexGraph, elementTypeName, valueInfoDims, type GraphIndex } from '../onnx/graph-index';
import { instrumentModel } from '../onnx/instrument';
import { createSession, runBatch, type SessionSettings } from '../runner/session';
import { openData, type DataOptions, type ModelInputSpec, type OpenedData } from '../data';
import { planCollectors, type PlannedCollector } from './plan';
import { sha256, stableStringify } from '../fingerprint';
import { CalibrationError, DataError } from '../errors';

/** Everything one calibration run needs; the CLI builds it from config and flags. */
export interface CalibrateOptions {
  /** Path of the FP32 ONNX model. */
  readonly model: string;
  readonly data: DataOptions;
  /** Resolved collectors (see `loadCollectors`). All share one inference pass. */
  readonly collectors: readonly ResolvedCollector[];
  /** Run-wide tensor filter. */
  readonly include?: readonly string[];
  readonly exclude?: readonly string[];
  readonly logger?: Logger;
  /** Called after every batch. */
  readonly onProgress?: (p: { samples: number; total: number | undefined; batches: number }) => void;
  readonly session?: SessionSettings;
  /** Working directory for relative data paths (default process.cwd()). */
  readonly cwd?: string;
  /** Installed collectors, so that wrapping collectors (auto-tune) can create their base by name. */
  readonly registry?: CollectorRegistry;
}

/** One collector's outcome. */
export interface CollectorResult {
  readonly label: string;
  readonly table: CalibrationTable;
  /** The live collector, for snapshots (sharded runs). */
  readonly collector: CalibrationCollector;
  readonly planned: PlannedCollector;
}

export interface CalibrateResult {
  readonly results: readonly CollectorResult[];
  readonly samples: number;
  readonly batches: number;
  /** Wall time split: inference vs collect calls vs postCollect, in ms. */
  readonly timings: { readonly inferenceMs: number; readonly collectMs: number; readonly postCollectMs: number; readonly totalMs: number };
  readonly index: GraphIndex;
}

/** The model inputs as the data layer needs them. */
export function modelInputs(index: GraphIndex, model: ReturnType<typeof loadModel>['model']): ModelInputSpec[] {
  const inits = new Set(model.graph!.initializer.map((t) => t.name));
  return model.graph!.input.filter((i) => !inits.has(i.name)).map((i) => ({
    name: i.name,
    type: elementTypeName(i.type?.tensorType?.elemType),
    dims: (valueInfoDims(i) ?? []).map((d) => (typeof d === 'number' && d > 0 ? d : typeof d === 'string' ? d : null)),
  }));
}

/** Fingerprint of what determines a collector's table: model, data, selection and options. */
export function runFingerprint(modelSha: string, dataFingerprint: string, planned: PlannedCollector): string {
  return sha256(stableStringify({
    modelSha,
    dataFingerprint,
    collector: planned.resolved.name,
    options: planned.resolved.options,
    tensors: planned.tensors.map((t) => t.name),
  }));
}

/**
 * Calibrates a model: one inference pass per batch feeds every collector (MXNet's contract), then
 * each collector's postCollect gives its ranges. Memory is bounded by one batch of the exposed
 * activations: nothing of a batch is kept after its collect calls return.
 */
export async function calibrate(opts: CalibrateOptions): Promise<CalibrateResult> {
  const t0 = performance.now();
  const logger = opts.logger ?? silentLogger;
  const { model, bytes } = loadModel(opts.model);
  const index = indexGraph(model);
  const plan = planCollectors(index, opts.collectors, { include: opts.include, exclude: opts.exclude }, opts.model);
  const data = await openData(opts.data, modelInputs(index, model), opts.cwd);
  logger.info(`qcal: ${path.basename(opts.model)}: ${plan.selected.length} of ${index.calibratable.length} float tensors selected (${plan.full.length} full, ${plan.range.length} min/max in-graph); ${data.describe}`);

  const instances = plan.collectors.map((p) => instantiateCollector(p.resolved, {
    tensors: p.tensors,
    logger,
    ...(opts.registry ? { createCollector: collectorFactory(opts.registry, p, logger) } : {}),
  }));
  // Who gets each fetched tensor.
  const fullTargets = new Map<string, { c: CalibrationCollector; opName: string }[]>();
  const rangeTargets = new Map<string, { c: CalibrationCollector; opName: string }[]>();
  plan.collectors.forEach((p, i) => {
    for (const t of p.tensors) {
      const target = plan.range.includes(t.name) ? rangeTargets : fullTargets;
      let list = target.get(t.name);
      if (!list) target.set(t.name, (list = []));
      list.push({ c: instances[i]!, opName: t.opName });
    }
  });

  const instrumented = instrumentModel(model, { full: plan.full, range: plan.range });
  const session = await createSession(encodeModel(instrumented.model), opts.model, opts.session);
  const counts = await runAll(session, data, instrumented, fullTargets, rangeTargets, opts);
  await session.release();

  const tPost = performance.now();
  const modelSha = sha256(bytes);
  const results: CollectorResult[] = [];
  for (let i = 0; i < plan.collectors.length; i++) {
    const p = plan.collectors[i]!;
    const tuning = p.resolved.definition.needs?.tuning
      ? await createTuningContext({ model, index, data, tensors: p.tensors, options: p.resolved.options, session: opts.session, logger })
      : undefined;
    const ctx: PostCollectContext = { tensors: p.tensors, samples: counts.samples, batches: counts.batches, logger, ...(tuning ? { tuning } : {}) };
    let ranges: Record<string, TensorRange>;
    try {
      ranges = await instances[i]!.postCollect(ctx);
    } finally {
      await tuning?.release();
    }
    results.push({ label: p.label, table: makeTable(p, ranges, opts.model, counts.samples, modelSha, data), collector: instances[i]!, planned: p });
  }
  const postCollectMs = performance.now() - tPost;
  return {
    results,
    samples: counts.samples,
    batches: counts.batches,
    timings: { inferenceMs: counts.inferenceMs, collectMs: counts.collectMs, postCollectMs, totalMs: performance.now() - t0 },
    index,
  };
}

async function runAll(
  session: Awaited<ReturnType<typeof createSession>>,
  data: OpenedData,
  instrumented: ReturnType<typeof instrumentModel>,
  fullTargets: Map<string, { c: CalibrationCollector; opName: string }[]>,
  rangeTargets: Map<string, { c: CalibrationCollector; opName: string }[]>,
  opts: CalibrateOptions,
): Promise<{ samples: number; batches: number; inferenceMs: number; collectMs: number }> {
  let samples = 0;
  let batches = 0;
  let inferenceMs = 0;
  let collectMs = 0;
  for await (const batch of data.batches()) {
    const ti = performance.now();
    const out = await runBatch(session, batch.feeds, instrumented.fetches, batch.ids.length === 1 ? batch.ids[0]! : `batch of ${batch.ids[0]} … ${batch.ids[batch.ids.length - 1]}`);
    const tc = performance.now();
    inferenceMs += tc - ti;
    for (const [name, targets] of fullTargets) {
      const v = out[name];
      if (!v) throw new CalibrationError(`onnxruntime returned no value for the exposed tensor "${name}"`);
      if (v.type !== 'float32') throw new CalibrationError(`tensor "${name}" is ${v.type}, expected float32`);
      const act = { data: v.data as Float32Array, dims: v.dims };
      for (const t of targets) await t.c.collect(name, t.opName, act);
    }
    for (const [name, targets] of rangeTargets) {
      const o = instrumented.rangeOutputs.get(name)!;
      const mn = (out[o.min]!.data as Float32Array)[0]!;
      const mx = (out[o.max]!.data as Float32Array)[0]!;
      const act = { data: Float32Array.of(mn, mx), dims: [2] };
      for (const t of targets) await t.c.collect(name, t.opName, act);
    }
    collectMs += performance.now() - tc;
    samples += batch.size;
    batches++;
    opts.onProgress?.({ samples, total: data.count, batches });
  }
  if (samples === 0) throw new DataError(`${typeof opts.data.data === 'string' ? opts.data.data : 'data source'}: no samples to calibrate with`);
  return { samples, batches, inferenceMs, collectMs };
}

/** `ctx.createCollector` for collector `p`: another installed collector, same tensors, validated options. */
function collectorFactory(registry: CollectorRegistry, p: PlannedCollector, logger: Logger) {
  return (name: string, options?: Readonly<Record<string, unknown>>): CalibrationCollector => {
    const reg = registry.get(name);
    if (!reg) throw new PluginError(p.resolved.name, `collector "${p.resolved.name}" asked for a base collector "${name}" that is not installed; installed: ${[...registry.keys()].join(', ')}`);
    const { options: validated, problems } = validateOptions(reg.definition.optionsSchema, reg.definition.defaultOptions as object, options, `collector "${name}" (base of "${p.resolved.name}")`);
    if (problems.length) throw new PluginError(p.resolved.name, problems.join('; '));
    return instantiateCollector({ name, definition: reg.definition, options: validated as Record<string, unknown>, source: reg.source }, { tensors: p.tensors, logger });
  };
}

function makeTable(p: PlannedCollector, ranges: Record<string, TensorRange>, modelPath: string, samples: number, modelSha: string, data: OpenedData): CalibrationTable {
  const tensors: CalibrationTable['tensors'] = {};
  for (const t of p.tensors) {
    const r = ranges[t.name]!;
    const { min, max, ...extra } = r;
    tensors[t.name] = { op: t.opName || t.name, opType: t.opType, min, max, ...extra };
  }
  return {
    collector: p.resolved.name,
    options: { ...p.resolved.options },
    model: modelPath,
    samples,
    tensors,
    meta: {
      qcalVersion: QCAL_VERSION,
      createdAt: new Date().toISOString(),
      modelSha256: modelSha,
      dataFingerprint: data.fingerprint,
      runFingerprint: runFingerprint(modelSha, data.fingerprint, p),
      ...(p.resolved.include?.length ? { include: [...p.resolved.include] } : {}),
      ...(p.resolved.exclude?.length ? { exclude: [...p.resolved.exclude] } : {}),
    },
  };
}

/** qcal's version, recorded in tables. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const QCAL_VERSION: string = (require('../../package.json') as { version: string }).version;
