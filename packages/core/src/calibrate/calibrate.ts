import * as path from 'node:path';
import type { CalibrationCollector, PostCollectContext } from '../collector';
import type { TensorRange } from '../tensor';
import type { Logger } from '../logger';
import { silentLogger } from '../logger';
import type { CalibrationTable } from '../table';
import type { ResolvedCollector, CollectorRegistry } from '../plugins';
import { instantiateCollector, isBuiltinCollectorName, loadCollectors } from '../plugins';
import { validateOptions } from '../options-schema';
import { PluginError } from '../errors';
import { createTuningContext } from '../tuning';
import { loadModel, encodeEditedModel } from '../onnx/model';
import { indexGraph, elementTypeName, valueInfoDims, type GraphIndex } from '../onnx/graph-index';
import { instrumentModel } from '../onnx/instrument';
import { quantizedTensorNames } from '../qdq/quantized-tensors';
import { CollectPool, defaultCollectWorkers, type PooledTensor } from './collect-pool';
import { collectorFactory } from './collector-factory';
import { sampledTensors, samplePlan, strided, type SamplePlan } from './sampling';
import { createSession, hasQdqNodes, runBatch, sessionOptions, type SessionSettings } from '../runner/session';
import { defaultInferenceWorkers, InferencePool } from '../runner/inference-pool';
import { createActivationRecorder, type ActivationHistograms, type ActivationRecorder, type HistogramSettings } from '../runner/activation-recorder';
import { openData, type DataOptions, type ModelInputSpec, type OpenedData } from '../data';
import { planCollectors, type PlannedCollector } from './plan';
import { sha256, stableStringify } from '../fingerprint';
import { CalibrationError, DataError } from '../errors';
import type { ActivationTensor, FeedTensor } from '../tensor';

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
  /**
   * Which tensors to calibrate when no `include` is given: `quantized` (default), the activations
   * the QDQ writer quantizes in `quantizeMode` (a table of them gives the same QDQ model as a table
   * of every tensor, for less work); `all`: every float activation.
   */
  readonly tensors?: 'quantized' | 'all';
  /** The QDQ mode the tables are meant for (default `smart`); `full` needs every tensor. */
  readonly quantizeMode?: 'smart' | 'full';
  /**
   * The QDQ writer's passes the tables are meant for, as they change what `quantized` covers
   * (default on, as in the writer): fold-affine removes the Conv outputs it folds, fuse-activations
   * the tensors inside decomposed HardSwish chains. false: calibrate those too.
   */
  readonly foldAffine?: boolean;
  readonly fuseActivations?: boolean;
  readonly logger?: Logger;
  /** Called after every batch. */
  readonly onProgress?: (p: { samples: number; total: number | undefined; batches: number }) => void;
  readonly session?: SessionSettings;
  /** Working directory for relative data paths (default process.cwd()). */
  readonly cwd?: string;
  /** Installed collectors, so that wrapping collectors (auto-tune) can create their base by name. */
  readonly registry?: CollectorRegistry;
  /** Limit for one asynchronous collector hook call, in ms (default 30 min; 0 = none). */
  readonly hookTimeoutMs?: number;
  /**
   * Keep a compact histogram of every tensor fetched in full (for the report), from the same pass:
   * no extra inference. Off by default; tensors reduced in-graph (min/max only) get none.
   */
  readonly histograms?: HistogramSettings | false;
  /**
   * Fast mode: histogram collectors (entropy, hfmg, ifmr, percentile, mse; minmax alongside them)
   * see about this many values per tensor and batch — every k-th block of 16 values, cut out in-graph, plus the
   * tensor's exact min and max from in-graph reductions — instead of every value. 0 or undefined:
   * every value (exact).
   */
  readonly sampleValues?: number;
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
  /** With `histograms`: per fetched tensor. */
  readonly histograms?: ActivationHistograms;
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
export function runFingerprint(modelSha: string, dataFingerprint: string, planned: PlannedCollector, sampleValues?: number): string {
  return sha256(stableStringify({
    modelSha,
    dataFingerprint,
    collector: planned.resolved.name,
    options: planned.resolved.options,
    tensors: planned.tensors.map((t) => t.name),
    // Fast mode gives other tables than a run over every value (absent when off: old fingerprints hold).
    ...(sampleValues ? { sampleValues } : {}),
  }));
}

/** A run whose model, data and plan are loaded and checked, before any inference. */
export interface PreparedCalibration {
  readonly opts: CalibrateOptions;
  readonly model: ReturnType<typeof loadModel>['model'];
  readonly modelSha256: string;
  readonly index: GraphIndex;
  readonly plan: ReturnType<typeof planCollectors>;
  readonly data: OpenedData;
  /** Per planned collector (same order): the fingerprint a reusable table must carry. */
  readonly fingerprints: readonly string[];
  /** Whether the selection was narrowed to the tensors a QDQ model quantizes (`tensors: 'quantized'`). */
  readonly scoped?: boolean;
}

/**
 * Loads and checks everything a run needs — model, tensor selection, collectors' filters, data
 * (every sample's header against the model inputs) — so bad input fails before any inference.
 */
export async function prepareCalibration(opts: CalibrateOptions): Promise<PreparedCalibration> {
  const { model, bytes } = loadModel(opts.model);
  const index = indexGraph(model);
  const scope = defaultScope(model, opts, index);
  const plan = planCollectors(index, opts.collectors, { include: opts.include, exclude: opts.exclude, ...(scope ? { scope } : {}) }, opts.model);
  const data = await openData(opts.data, modelInputs(index, model), opts.cwd, model.graph!.output.map((o) => o.name));
  const modelSha256 = sha256(bytes);
  const fingerprints = plan.collectors.map((p) => runFingerprint(modelSha256, data.fingerprint, p, opts.sampleValues));
  return { opts, model, modelSha256, index, plan, data, fingerprints, scoped: scope !== undefined };
}

/**
 * The tensors a run calibrates when no `include` is given: those the QDQ writer quantizes, unless
 * the caller asks for all, the QDQ mode is `full`, or nothing the writer would quantize (inside
 * If/Loop/Scan bodies too). undefined = every calibratable tensor.
 */
function defaultScope(model: ReturnType<typeof loadModel>['model'], opts: CalibrateOptions, index: GraphIndex): Set<string> | undefined {
  if (opts.tensors === 'all' || opts.include?.length || opts.quantizeMode === 'full') return undefined;
  const names = quantizedTensorNames(model, 'smart', { foldAffine: opts.foldAffine, fuseActivations: opts.fuseActivations, index });
  return names?.size ? names : undefined;
}

/**
 * Calibrates a model: one inference pass per batch feeds every collector (MXNet's contract), then
 * each collector's postCollect gives its ranges. Memory is bounded by one batch of the exposed
 * activations: nothing of a batch is kept after its collect calls return.
 */
export async function calibrate(opts: CalibrateOptions): Promise<CalibrateResult> {
  return executeCalibration(await prepareCalibration(opts));
}

/** A collector that wants a fetched tensor; `pooled`: its plan index, when it runs in a collect worker. */
interface Target { c: CalibrationCollector; opName: string; pooled?: number }

/** Counts of a collect pass. */
export interface PassCounts {
  samples: number; batches: number; inferenceMs: number; collectMs: number;
  /** Selected tensors no inference computed (inside If branches the data never took): not calibrated. */
  notRun?: readonly string[];
}

/** Runs a prepared calibration (see {@link prepareCalibration}): the collect pass, then postCollect. */
export async function executeCalibration(prepared: PreparedCalibration): Promise<CalibrateResult> {
  const t0 = performance.now();
  const { instances, counts, histograms } = await collectPass(prepared);
  const result = await finishCalibration(prepared, instances, counts, t0);
  return histograms ? { ...result, histograms } : result;
}

/** Creates the run's collector instances (wrapped: errors name the plugin, outputs are checked). */
export function createInstances(prepared: Pick<PreparedCalibration, 'opts' | 'plan'>): CalibrationCollector[] {
  const { opts, plan } = prepared;
  const logger = opts.logger ?? silentLogger;
  return plan.collectors.map((p) => instantiateCollector(p.resolved, {
    tensors: p.tensors,
    logger,
    ...(opts.registry ? { createCollector: collectorFactory(opts.registry, p.resolved.name, p.tensors, logger, opts.cwd ?? process.cwd(), opts.hookTimeoutMs) } : {}),
  }, { ...(opts.hookTimeoutMs !== undefined ? { hookTimeoutMs: opts.hookTimeoutMs } : {}) }));
}

/**
 * The collect pass: one inference per batch, every collector fed from it. Returns the live
 * instances (for postCollect, or for snapshots in a sharded run).
 */
export async function collectPass(prepared: PreparedCalibration, given?: CalibrationCollector[]): Promise<{ instances: CalibrationCollector[]; counts: PassCounts; histograms?: ActivationHistograms }> {
  const { opts, model, index, plan, data } = prepared;
  const logger = opts.logger ?? silentLogger;
  const scope = prepared.scoped ? ' — the ones a QDQ model quantizes (--all-tensors: every one)' : '';
  const per = opts.sampleValues ?? 0;
  const sampled = per > 0 ? sampledTensors(plan, index) : [];
  const sampledSet = new Set(sampled);
  // Collectors that need only the in-graph min/max (nothing fetched but the packed statistics):
  // whole batches inferred side by side on worker threads, one session each (see InferencePool).
  // The threads start first, loading onnxruntime while this thread instruments and encodes the model.
  const inferenceWorkers = opts.session?.inferenceWorkers ?? defaultInferenceWorkers();
  const wantsSideBySide = plan.full.length === 0 && sampled.length === 0 && !data.sequence && opts.session?.overlap !== false && inferenceWorkers >= 2;
  const started = wantsSideBySide ? InferencePool.start(inferenceWorkers) : undefined;
  try {
    const instrumented = instrumentModel(model, { full: plan.full.filter((t) => !sampledSet.has(t)), range: plan.range, sampled });
    const derived = instrumented.packedRange?.entries.filter((e) => e.derived && !instrumented.sampledDerived.has(e.tensor)).length ?? 0;
    const rangeWhat = `${plan.range.length} min/max in-graph${derived ? `, ${derived} of them derived exactly from other tensors' (monotone op, nearest upsampling, Concat)` : ''}`;
    logger.info(`qcal: ${path.basename(opts.model)}: ${plan.selected.length} of ${index.calibratable.length} float tensors selected${scope} (${plan.full.length} full, ${rangeWhat}); ${data.describe}`);
    if (sampled.length) {
      const set = new Set(sampled);
      const others = plan.collectors.filter((p) => p.tensors.some((t) => plan.full.includes(t.name) && !set.has(t.name)));
      logger.info(`qcal: fast mode: ${sampled.length} of ${plan.full.length} fetched tensors are histogrammed from a sample of about ${per} values per tensor and batch (every k-th block of 16 values, cut out in-graph) plus their exact min and max (in-graph)${instrumented.sampledDerived.size ? `; ${instrumented.sampledDerived.size} of them computed from another sampled tensor through a monotone op: their sample and extremes are derived from its` : ''}; --exact (--fast-sample 0) for every value${others.length ? `; full tensors for ${others.map((p) => p.label).join(', ')}` : ''}`);
    }
    // Built-in collectors run on worker threads (both cores busy: they collect batch k while
    // onnxruntime infers batch k+1) unless the caller hands its own instances (sharded runs, which
    // need snapshots) or asks for none.
    const nWorkers = opts.session?.collectWorkers ?? defaultCollectWorkers();
    // A tuning collector (auto-tune) collects in the workers too when its state can move: its
    // main-thread instance, made here, takes the workers' snapshots at postCollect (which needs
    // this thread's tuning context).
    const home = new Map<number, CalibrationCollector>();
    const movable = (i: number): boolean => {
      const c = createInstances({ opts, plan: { ...plan, collectors: [plan.collectors[i]!] } })[0]!;
      home.set(i, c);
      if (!c.snapshot || !c.merge) return false;
      try { c.snapshot(); } catch { return false; } // e.g. a base without snapshot (entropy tpumlir)
      return true;
    };
    const fullSet = new Set(plan.full);
    const recorded = plan.selected.filter((t) => fullSet.has(t.name));
    // The report's histograms of tensors collected in a worker are kept there too: the main thread
    // runs inference (onnxruntime-node's run is synchronous), so work taken off it shortens the run.
    const pool = given || nWorkers < 1 ? undefined
      : CollectPool.create(plan.collectors, nWorkers, logger, opts.cwd ?? process.cwd(), movable, opts.histograms ? { settings: opts.histograms, tensors: recorded } : undefined);
    if (pool) {
      const moved = pool.eligible.filter((i) => plan.collectors[i]!.resolved.definition.needs?.tuning).map((i) => plan.collectors[i]!.label);
      logger.info(`qcal: ${pool.eligible.map((i) => plan.collectors[i]!.label).join(', ')} collecting on ${nWorkers} worker thread(s)${moved.length ? ` (${moved.join(', ')}: state merged back on this thread for postCollect)` : ''}`);
    }
    const instances = given ?? plan.collectors.map((p, i) => (pool?.handles(i) ? pool.proxy(i, home.get(i)) : home.get(i) ?? createInstances({ opts, plan: { ...plan, collectors: [p] } })[0]!));
    // Who gets each fetched tensor (`pooled`: the collector with that plan index runs in a worker).
    const rangeOnly = new Set(plan.range);
    const fullTargets = new Map<string, Target[]>();
    const rangeTargets = new Map<string, Target[]>();
    plan.collectors.forEach((p, i) => {
      for (const t of p.tensors) {
        const target = rangeOnly.has(t.name) ? rangeTargets : fullTargets;
        let list = target.get(t.name);
        if (!list) target.set(t.name, (list = []));
        list.push({ c: instances[i]!, opName: t.opName, ...(pool?.handles(i) ? { pooled: i } : {}) });
      }
    });
    const recorder = opts.histograms ? createActivationRecorder(recorded, opts.histograms) : undefined;
    // No memory pattern by default: with hundreds of exposed or reduced tensors onnxruntime's
    // pre-planned block is far larger than what dynamic arena allocation needs (measured on the
    // PP-OCRv4 recognizer, min/max in-graph: peak RSS 540 → 345 MB, same speed).
    // QDQ transformers off where they have nothing to do (a float model): faster session creation.
    // Spinning off when collect workers need the cores (see SessionSettings.intraOpSpinning).
    const collectSettings = { enableMemPattern: false, ...(hasQdqNodes(model) ? {} : { qdqTransformers: false }), ...(pool ? { intraOpSpinning: false } : {}), ...opts.session };
    // (Not with collect workers: those need the cores.)
    if (pool) await started?.close();
    const inferencePool = pool ? undefined : started;
    // (The original model's nodes are copied from its file's bytes, not encoded again.)
    const bytes = encodeEditedModel(instrumented.model, model);
    // (The pool takes the bytes over: no copy for its last worker; the main thread needs none.)
    await inferencePool?.load(bytes, sessionOptions(collectSettings, instrumented.model), opts.model, true);
    if (inferencePool) logger.info(`qcal: ${inferencePool.size} batches inferred side by side (${inferencePool.size} inference worker threads, ${opts.session?.intraOpNumThreads || 1} onnxruntime thread(s) each)`);
    const session = inferencePool ? undefined : await createSession(bytes, opts.model, collectSettings, instrumented.model);
    // The pool's outputs carry the fields the runner reads (type, data, dims).
    const infer = inferencePool
      ? { depth: inferencePool.size, run: (...a: Parameters<InferencePool['run']>) => inferencePool.run(...a) as Promise<unknown> as ReturnType<typeof runBatch> }
      : { depth: 1, run: (...a: Parameters<InferencePool['run']>) => runBatch(session!, ...a) };
    // A batch whose in-graph min/max/sum of a tensor is not finite (NaN, ±Infinity, or an overflowing
    // sum) is re-run on a second session that exposes such tensors in full, so that collectors see the
    // values and count the non-finite ones element by element. Created on first need only.
    let fallback: Awaited<ReturnType<typeof createSession>> | undefined;
    let exposed: ReturnType<typeof instrumentModel> | undefined;
    const fullValues = async (feeds: Parameters<typeof runBatch>[1], names: string[], where: string) => {
      if (!fallback) {
        logger.info(`qcal: ${where}: non-finite values in tensor(s) ${names.slice(0, 5).map((n) => `"${n}"`).join(', ')}${names.length > 5 ? ', …' : ''}: re-running such batches with the full tensors to count them`);
        exposed = instrumentModel(model, { full: [...plan.range, ...sampled], range: [] });
        fallback = await createSession(encodeEditedModel(exposed.model, model), opts.model, collectSettings, exposed.model);
      }
      // Tensors inside If/Loop/Scan bodies come out under their lifted names.
      const lifted = names.map((n) => exposed!.fullOutputs.get(n) ?? n);
      const got = await runBatch(fallback, feeds, lifted, where);
      return Object.fromEntries(names.map((n, i) => [n, got[lifted[i]!]!])) as typeof got;
    };
    try {
      const counts = await runAll(infer, data, instrumented, fullTargets, rangeTargets, opts, fullValues, pool, recorder);
      if (!recorder) return { instances, counts };
      // Tensors a worker recorded: its histogram (the main thread's stayed empty); graph order kept.
      const here = recorder.result();
      const parts = pool ? await pool.histograms() : [];
      const tensors = Object.fromEntries(Object.entries(here.tensors).map(([t, h]) => [t, parts.find((p) => p.tensors[t])?.tensors[t] ?? h]));
      return { instances, counts, histograms: { ...here, ms: here.ms + parts.reduce((a, p) => a + p.ms, 0), tensors } };
    } catch (e) {
      pool?.close();
      throw e;
    } finally {
      await session?.release();
      await inferencePool?.close();
      await fallback?.release();
    }
  } catch (e) {
    // (Workers started above end cleanly, whatever failed before or during the pass.)
    await started?.close();
    throw e;
  }
}

/** postCollect of every collector (with a tuning context where asked), and the tables. */
export async function finishCalibration(
  prepared: Omit<PreparedCalibration, 'data'> & { data?: OpenedData },
  instances: readonly CalibrationCollector[],
  counts: PassCounts,
  t0 = performance.now(),
): Promise<CalibrateResult> {
  const { opts, model, index, plan, data } = prepared;
  const logger = opts.logger ?? silentLogger;
  const tPost = performance.now();
  const results: CollectorResult[] = [];
  const notRun = new Set(counts.notRun ?? []);
  const sampledSet = new Set(opts.sampleValues ? sampledTensors(plan, index) : []);
  if (notRun.size) {
    // A branch the data never took: say which, rather than quantize it with made-up ranges.
    // Counted under the outermost branch that never ran (its nested bodies did not run either).
    const paths = [...new Set([...notRun].map((t) => index.tensors.get(t)?.graphPath ?? '?'))].sort((a, b) => a.length - b.length);
    const top = (g: string): string => paths.find((p) => g === p || g.startsWith(`${p}/`)) ?? g;
    const byGraph = new Map<string, number>();
    for (const t of notRun) { const g = top(index.tensors.get(t)?.graphPath ?? '?'); byGraph.set(g, (byGraph.get(g) ?? 0) + 1); }
    const list = [...byGraph].map(([g, n]) => `${g || 'main graph'} (${n})`);
    logger.warn(`qcal: ${notRun.size} selected tensor(s) were never computed by the calibration data and are left uncalibrated (float in the QDQ model), in branches never taken: ${list.slice(0, 8).join(', ')}${list.length > 8 ? `, … ${list.length - 8} more` : ''}; add samples that take ${byGraph.size > 1 ? 'these branches' : 'this branch'} to calibrate them (the table's meta.notRun lists them)`);
  }
  for (let i = 0; i < plan.collectors.length; i++) {
    const p0 = plan.collectors[i]!;
    const p = notRun.size ? { ...p0, tensors: p0.tensors.filter((t) => !notRun.has(t.name)) } : p0;
    if (p.resolved.definition.needs?.tuning && !data) {
      throw new CalibrationError(`collector "${p.resolved.name}" tunes on calibration samples at postCollect; give --data so they can be read`);
    }
    const tuning = p.resolved.definition.needs?.tuning && data
      ? await createTuningContext({ model, index, data, tensors: p.tensors, options: p.resolved.options, session: opts.session, logger })
      : undefined;
    const ctx: PostCollectContext = { tensors: p.tensors, samples: counts.samples, batches: counts.batches, logger, ...(tuning ? { tuning } : {}) };
    let ranges: Record<string, TensorRange>;
    const tp = performance.now();
    try {
      ranges = await instances[i]!.postCollect(ctx);
    } finally {
      await tuning?.release();
    }
    // A phase line where time goes (searches, auto-tune), also in logs without a terminal.
    const secs = (performance.now() - tp) / 1000;
    if (secs >= 2) logger.info(`qcal: ${p.label}: postCollect (threshold search${tuning ? ' and auto-tune' : ''}) of ${p.tensors.length} tensors: ${secs.toFixed(1)} s`);
    const table = makeTable(p, ranges, opts.model, counts.samples, prepared.modelSha256, data?.fingerprint, prepared.fingerprints[i]!);
    const fast = p.tensors.filter((t) => sampledSet.has(t.name)).length;
    if (fast) {
      table.meta = {
        ...table.meta,
        fastMode: {
          sampleValues: opts.sampleValues,
          sampledTensors: fast,
          description: `fast mode: ${fast} of ${p.tensors.length} tensors histogrammed from about ${opts.sampleValues} values per tensor and batch (every k-th block of 16 values) plus their exact min and max`,
        },
      };
    }
    const skipped = p0.tensors.filter((t) => notRun.has(t.name));
    if (skipped.length) table.meta = { ...table.meta, notRun: Object.fromEntries(skipped.map((t) => [t.name, `in ${index.tensors.get(t.name)?.graphPath || 'the main graph'}, never computed by the calibration data (branch not taken)`])) };
    results.push({ label: p.label, table, collector: instances[i]!, planned: p0 });
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

/** How the runner infers a batch; `depth` batches may be in flight at once. */
interface BatchInference {
  readonly depth: number;
  readonly run: (feeds: Parameters<typeof runBatch>[1], fetches: readonly string[], where: string, runOptions?: Parameters<typeof runBatch>[4]) => ReturnType<typeof runBatch>;
}

async function runAll(
  infer: BatchInference,
  data: OpenedData,
  instrumented: ReturnType<typeof instrumentModel>,
  fullTargets: Map<string, Target[]>,
  rangeTargets: Map<string, Target[]>,
  opts: CalibrateOptions,
  fullValues: (feeds: Parameters<typeof runBatch>[1], names: string[], where: string) => ReturnType<typeof runBatch>,
  pool: CollectPool | undefined,
  recorder: ActivationRecorder | undefined,
): Promise<PassCounts> {
  let samples = 0;
  let batches = 0;
  let inferenceMs = 0;
  let collectMs = 0;
  const seen = new Set<string>();
  // Overlap: batch k+1's inference runs on onnxruntime's worker thread while collectors work on
  // batch k on this thread (with inference workers, batches k+1 … k+depth). Collect calls stay in
  // batch order; only `inFlight` and the batch being collected are referenced, so at most
  // depth + 1 batches of activations are alive.
  const overlap = opts.session?.overlap ?? true;
  const fullList = [...fullTargets];
  // Main-graph range tensors in plan order (a derived tensor after its source), then those inside subgraphs.
  const packedEntries = new Map(instrumented.packedRange?.entries.map((e) => [e.tensor, e]));
  // (The packed output also holds the extremes of fast mode's sampled tensors: not range targets.)
  const rangeOrder = [...[...packedEntries.keys()].filter((t) => rangeTargets.has(t)), ...[...rangeTargets.keys()].filter((t) => !packedEntries.has(t))];
  const rangeList = rangeOrder.map((name) => ({ name, targets: rangeTargets.get(name)!, o: instrumented.rangeOutputs.get(name), packed: packedEntries.get(name) }));
  // Per batch: [min, max, sum] of every packed tensor (a derived one: its source's sum, so that a
  // non-finite source re-runs it in full too).
  const stats = new Map<string, readonly [number, number, number]>();
  const fetches = data.sequence ? [...new Set([...instrumented.fetches, ...Object.values(data.sequence.feedback)])] : instrumented.fetches;
  const it = data.batches()[Symbol.asyncIterator]();
  // Fast mode: each sampled tensor's step, per shape of the inputs (tensor sizes follow from them).
  // The first batch runs with step 1 (whole tensors) and is sampled here, the same values the graph
  // cuts out; its sizes fix the steps for later batches of that shape. A batch of another shape
  // (text lines of other widths) first tries steps that divide every size seen so far (their gcd:
  // the part of a size that does not depend on the width), and only if onnxruntime refuses one
  // (a size it does not divide) runs again with whole tensors.
  const sampled = instrumented.sampledOutputs;
  const sampledDerived = new Map([...instrumented.sampledDerived].map(([t, d]) => [t, { derived: d }]));
  const per = opts.sampleValues ?? 0;
  const stepsByShape = new Map<string, Map<string, SamplePlan>>();
  const sizeGcd = new Map<string, number>();
  const minSize = new Map<string, number>();
  const gcd = (a: number, b: number): number => { while (b) [a, b] = [b, a % b]; return a; };
  const guessSteps = (): Map<string, SamplePlan> | undefined => {
    // After one shape the gcd is that shape's size, width included: wait for a second one.
    if (sizeGcd.size < sampled.size || stepsByShape.size < 2) return undefined;
    return new Map([...sampled.keys()].map((t) => [t, samplePlan(minSize.get(t)!, per, sizeGcd.get(t)!)]));
  };
  const learnSize = (t: string, size: number): void => {
    sizeGcd.set(t, gcd(sizeGcd.get(t) ?? 0, size));
    minSize.set(t, Math.min(minSize.get(t) ?? Infinity, size));
  };
  const shapeFeeds = new Map<string, FeedTensor>();
  const shapeFeed = (p: SamplePlan | undefined): FeedTensor => {
    const { step, block } = p ?? { step: 1, block: 1 };
    let f = shapeFeeds.get(`${step}x${block}`);
    if (!f) shapeFeeds.set(`${step}x${block}`, (f = { type: 'int64', data: BigInt64Array.of(-1n, BigInt(step), BigInt(block)), dims: [3] }));
    return f;
  };
  const start = async (): Promise<{ out: Awaited<ReturnType<typeof runBatch>>; size: number; ms: number; feeds: Parameters<typeof runBatch>[1]; where: string; steps?: Map<string, SamplePlan>; shape: string } | undefined> => {
    const next = await it.next();
    if (next.done) return undefined;
    const batch = next.value;
    const ti = performance.now();
    const where = batch.ids.length === 1 ? batch.ids[0]! : `batch of ${batch.ids[0]} … ${batch.ids[batch.ids.length - 1]}`;
    const shape = sampled.size ? Object.entries(batch.feeds).map(([k, f]) => `${k}:${f.dims.join('x')}`).join(';') : '';
    let steps = stepsByShape.get(shape);
    const withSteps = (st: Map<string, SamplePlan> | undefined): Parameters<typeof runBatch>[1] => {
      if (!sampled.size) return batch.feeds;
      const extra: Record<string, FeedTensor> = {};
      for (const [t, o] of sampled) extra[o.shape] = shapeFeed(st?.get(t));
      return { ...batch.feeds, ...extra };
    };
    let out: Awaited<ReturnType<typeof runBatch>>;
    const guess = sampled.size && !steps ? guessSteps() : undefined;
    if (guess) {
      try {
        // A refused guess is expected now and then: keep onnxruntime from logging it as an error.
        out = await infer.run(withSteps(guess), fetches, where, { logSeverityLevel: 4 });
        steps = guess;
        stepsByShape.set(shape, guess);
      } catch {
        // A guessed step does not divide a tensor's size in this shape: whole tensors this once.
        out = await infer.run(withSteps(undefined), fetches, where);
      }
    } else out = await infer.run(withSteps(steps), fetches, where);
    // Sequence mode: the next step's state comes from this one's outputs (read before collection).
    data.sequence?.update(out as never);
    // The steps this batch ran with (the map may learn more while it is in flight).
    return { out, size: batch.size, ms: performance.now() - ti, feeds: batch.feeds, where, ...(steps ? { steps: new Map(steps) } : {}), shape };
  };
  // Batches being inferred, in batch order. A batch whose inference fails while an earlier one is
  // collected is reported when its turn comes (not as an unhandled rejection meanwhile).
  const inFlight: ReturnType<typeof start>[] = [];
  const launch = (): void => { const p = start(); p.catch(() => undefined); inFlight.push(p); };
  for (let k = 0; k < (overlap ? infer.depth : 1); k++) launch();
  try {
    while (inFlight.length) {
      const tw = performance.now();
      const done = await inFlight.shift()!;
      if (!done) break;
      // Time spent waiting for inference (with overlap, only the part not hidden behind collection).
      inferenceMs += overlap ? performance.now() - tw : done.ms;
      // With collect workers, the next inference starts once they are done with the previous
      // batch: alive are the batch they collect and the one being inferred, as in-thread.
      if (pool) {
        const tp = performance.now();
        await pool.drain();
        collectMs += performance.now() - tp;
      }
      if (overlap) while (inFlight.length < infer.depth) launch();
      const tc = performance.now();
      const out = done.out as { [name: string]: (typeof done.out)[string] };
      const toPool = pool ? new Map<string, PooledTensor>() : undefined;
      let nonFiniteSampled: string[] | undefined;
      let learned: Map<string, SamplePlan> | undefined;
      // Fast mode: every sampled tensor's sample and extremes, in graph order (a derived tensor's
      // source comes first); null: not finite (the batch's full tensor is fetched below).
      const cut = new Map<string, { values: Float32Array; min: number; max: number; sum: number; stepped: boolean } | null>();
      if (sampled.size || sampledDerived.size) {
        const packed = out[instrumented.packedRange!.output]!.data as Float32Array;
        for (const e of instrumented.packedRange!.entries) {
          const name = e.tensor;
          const so = sampled.get(name);
          const sd = sampledDerived.get(name);
          if (so) {
            const s = out[so.sample];
            const [mn, mx, sum] = [packed[e.offset]!, packed[e.offset + 1]!, packed[e.offset + 2]!];
            if (!s || s.type !== 'float32') throw new CalibrationError(`onnxruntime returned no float32 sample for the tensor "${name}"`);
            delete out[so.sample];
            // NaN/±Infinity (or an overflowing sum): the full tensor, so collectors count them per value.
            if (mn - mn + (mx - mx) + (sum - sum) !== 0) { cut.set(name, null); continue; }
            let plan = done.steps?.get(name);
            let values = s.data as Float32Array;
            // The sample holds size/step values (blocks or not).
            learnSize(name, plan === undefined ? values.length : values.length * plan.step);
            if (plan === undefined) {
              // A batch of a new input shape: the whole tensor came out; sample it as the graph will.
              plan = samplePlan(values.length, per);
              (learned ??= new Map()).set(name, plan);
              values = strided(values, plan.step, plan.block);
            }
            cut.set(name, { values, min: mn, max: mx, sum, stepped: plan.step > 1 });
          } else if (sd) {
            // t = f(source) elementwise: f of the source's sample is t's values at the same places.
            const src = cut.get(sd.derived.source);
            if (src === undefined) throw new CalibrationError(`internal: the sample of "${sd.derived.source}" (source of "${name}") is missing`);
            if (src === null) { cut.set(name, null); continue; }
            const [mn, mx] = sd.derived.map(src.min, src.max);
            // (Only derivations with `apply` are sampled ones: see instrumentModel.)
            const values = sd.derived.apply!(src.values);
            cut.set(name, { values, min: mn, max: mx, sum: src.sum, stepped: src.stepped });
          }
        }
      }
      for (const [name, targets] of fullList) {
        const smp = cut.get(name);
        let act: ActivationTensor;
        if (smp !== undefined) {
          seen.add(name);
          if (smp === null) { (nonFiniteSampled ??= []).push(name); continue; }
          act = smp.stepped ? { data: smp.values, dims: [smp.values.length], extremes: { min: smp.min, max: smp.max } } : { data: smp.values, dims: [smp.values.length] };
        } else {
        const fetched = instrumented.fullOutputs.get(name) ?? name;
        const v = out[fetched];
        if (!v) throw new CalibrationError(`onnxruntime returned no value for the exposed tensor "${name}"`);
        if (v.type !== 'float32') throw new CalibrationError(`tensor "${name}" is ${v.type}, expected float32`);
        // A tensor lifted out of an If branch that did not run in this batch comes out empty.
        if (v.data.length === 0 && fetched !== name) { delete out[fetched]; continue; }
        seen.add(name);
        act = { data: v.data as Float32Array, dims: v.dims };
        // Drop onnxruntime's reference too, so the tensor can go as soon as collectors are done with it.
        delete out[fetched];
        }
        let pooled: number[] | undefined;
        for (const t of targets) if (t.pooled !== undefined) (pooled ??= []).push(t.pooled);
        for (const t of targets) if (t.pooled === undefined) await t.c.collect(name, t.opName, act);
        // A tensor going to a worker is recorded there (see CollectPool.record); here after the
        // collectors, whose full pass left it in cache for the report's strided sample.
        if (!(pooled && pool!.records(name))) recorder?.observe(name, act.data, act.dims);
        // In-thread collectors first: the buffer then moves to a worker.
        if (pooled) toPool!.set(name, { opName: targets[0]!.opName, data: act.data, dims: act.dims, collectors: pooled, ...(act.extremes ? { extremes: act.extremes } : {}) });
      }
      if (learned) {
        const known = stepsByShape.get(done.shape);
        if (known) for (const [t, k] of learned) known.set(t, k);
        else stepsByShape.set(done.shape, learned);
      }
      if (nonFiniteSampled) {
        // Rare: whole tensors for the batch, collected in-thread order as the others (worker ones go to the pool).
        const values = await fullValues(done.feeds, nonFiniteSampled, done.where);
        for (const name of nonFiniteSampled) {
          const v = values[name]!;
          const act = { data: v.data as Float32Array, dims: v.dims };
          let pooled: number[] | undefined;
          const targets = fullTargets.get(name)!;
          for (const t of targets) if (t.pooled !== undefined) (pooled ??= []).push(t.pooled);
          for (const t of targets) if (t.pooled === undefined) await t.c.collect(name, t.opName, act);
          if (!(pooled && pool!.records(name))) recorder?.observe(name, act.data, act.dims);
          if (pooled) toPool!.set(name, { opName: targets[0]!.opName, data: act.data, dims: act.dims, collectors: pooled });
        }
      }
      if (toPool?.size) await pool!.post(toPool);
      let nonFinite: (typeof rangeList)[number][] | undefined;
      const packed = instrumented.packedRange ? out[instrumented.packedRange.output]!.data as Float32Array : undefined;
      stats.clear();
      // Proven NaN checks (no in-graph sum): from the statistics of earlier tensors of this batch.
      const proofHolds = instrumented.packedRange?.proofs?.checker((t) => stats.get(t));
      for (const r of rangeList) {
        const { name, targets, o, packed: e } = r;
        let mn: number, mx: number, sum: number;
        if (e?.derived?.sources) {
          // Concat: the union of its inputs' ranges; any input's non-finite sum flags it too.
          let [lo, hi, total] = [Infinity, -Infinity, 0];
          for (const x of e.derived.sources) { const s = stats.get(x)!; lo = Math.min(lo, s[0]); hi = Math.max(hi, s[1]); total += s[2]; }
          [mn, mx] = e.derived.map(lo, hi);
          sum = total;
          stats.set(name, [mn, mx, sum]);
        } else if (e?.derived) {
          const s = stats.get(e.derived.source)!;
          [mn, mx] = e.derived.map(s[0], s[1]);
          sum = s[2];
          stats.set(name, [mn, mx, sum]);
        } else if (e) {
          // A proven tensor's "sum": 0 when its proof holds, NaN (re-run in full) when not.
          [mn, mx, sum] = [packed![e.offset]!, packed![e.offset + 1]!, e.proven ? (proofHolds!(name) ? 0 : NaN) : packed![e.offset + 2]!];
          stats.set(name, [mn, mx, sum]);
        } else {
          const mins = out[o!.min]!.data as Float32Array;
          const maxs = out[o!.max]!.data as Float32Array;
          const sums = out[o!.sum]!.data as Float32Array;
          if (mins.length === 0) continue; // its If branch did not run
          // One value per inference, or one per iteration when the tensor lives in a loop body.
          mn = mins[0]!; mx = maxs[0]!; sum = sums[0]!;
          for (let k = 1; k < mins.length; k++) { if (mins[k]! < mn) mn = mins[k]!; if (maxs[k]! > mx) mx = maxs[k]!; sum += sums[k]!; }
        }
        seen.add(name);
        // mn - mn etc. is NaN exactly when the value is NaN or ±Infinity.
        if (mn - mn + (mx - mx) + (sum - sum) !== 0) { (nonFinite ??= []).push(r); continue; }
        const act = { data: Float32Array.of(mn, mx), dims: [2] };
        for (const t of targets) await t.c.collect(name, t.opName, act);
      }
      if (nonFinite) {
        // Rare: the full values of those tensors, so collectors count NaN/±Infinity per element.
        const values = await fullValues(done.feeds, nonFinite.map((r) => r.name), done.where);
        for (const { name, targets } of nonFinite) {
          const v = values[name]!;
          const act = { data: v.data as Float32Array, dims: v.dims };
          for (const t of targets) await t.c.collect(name, t.opName, act);
        }
      }
      collectMs += performance.now() - tc;
      samples += done.size;
      batches++;
      opts.onProgress?.({ samples, total: data.count, batches });
      if (!overlap) launch();
    }
    if (pool) {
      const tc = performance.now();
      await pool.drain();
      collectMs += performance.now() - tc;
    }
  } finally {
    // Never leave an inference running on a session that is about to be released.
    await Promise.all(inFlight.map((p) => p.catch(() => undefined)));
    await it.return?.();
  }
  if (samples === 0) throw new DataError(`${typeof opts.data.data === 'string' ? opts.data.data : 'data source'}: no samples to calibrate with`);
  const notRun = [...fullTargets.keys(), ...rangeTargets.keys()].filter((t) => !seen.has(t));
  return { samples, batches, inferenceMs, collectMs, ...(notRun.length ? { notRun } : {}) };
}

/** `ctx.createCollector` for collector `p`: another installed collector, same tensors, validated options. */
function makeTable(p: PlannedCollector, ranges: Record<string, TensorRange>, modelPath: string, samples: number, modelSha: string, dataFingerprint: string | undefined, fingerprint: string): CalibrationTable {
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
      ...(dataFingerprint ? { dataFingerprint } : {}),
      runFingerprint: fingerprint,
      ...(p.resolved.include?.length ? { include: [...p.resolved.include] } : {}),
      ...(p.resolved.exclude?.length ? { exclude: [...p.resolved.exclude] } : {}),
    },
  };
}

/** qcal's version, recorded in tables. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const QCAL_VERSION: string = (require('../../package.json') as { version: string }).version;
