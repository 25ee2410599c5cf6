import * as path from 'node:path';
import {
  loadConfig,
  loadCollectors,
  createContainer,
  resolveToken,
  COLLECTORS,
  COLLECTOR_DEFINITIONS,
  prepareCalibration,
  collectPass,
  finishCalibration,
  createInstances,
  checkShardable,
  snapshotFiles,
  addRunOutputs,
  openOutputSet,
  findReusableTables,
  makeRunRecord,
  runRecordFile,
  streamLogger,
  type ResolvedConfig,
  type CalibrationTable,
  type RunRecord,
  type CollectorResult,
  type OutputSet,
  type ResolvedCollector,
  type CollectorRegistry,
  collectorLabel,
  inputOptions,
  DEFAULT_SAMPLE_VALUES,
  ConfigError,
} from '@qcal/core';
import { parseFlags, numberFlag } from '../args';
import { CALIBRATE_HELP } from '../help';
import { createProgress, progressMode } from '../progress';
import { out, type CliIo } from '../io';
import { runQdqSteps } from './qdq-steps';
import { AUTO_COLLECTOR, chooseAutoTable, planAuto, type AutoPlan } from './auto-ranges';
import { stageReport } from './stage-report';

const FLAGS = {
  config: { type: 'string' },
  model: { type: 'string' },
  data: { type: 'string' },
  preprocess: { type: 'string' },
  collector: { type: 'string', multiple: true },
  'num-samples': { type: 'string' },
  'batch-size': { type: 'string' },
  shuffle: { type: 'boolean' },
  seed: { type: 'string' },
  include: { type: 'string', multiple: true },
  exclude: { type: 'string', multiple: true },
  'all-tensors': { type: 'boolean' },
  out: { type: 'string' },
  format: { type: 'string', multiple: true },
  qdq: { type: 'boolean' },
  'quantize-mode': { type: 'string' },
  evaluate: { type: 'boolean' },
  'eval-data': { type: 'string' },
  'eval-samples': { type: 'string' },
  'target-cos': { type: 'string' },
  'bias-correction': { type: 'boolean' },
  'cross-layer-equalization': { type: 'boolean' },
  isotone: { type: 'boolean' },
  'smooth-quant': { type: 'boolean' },
  'smooth-quant-alpha': { type: 'string' },
  'no-fold-affine': { type: 'boolean' },
  'no-saturation-ranges': { type: 'boolean' },
  'no-fuse-activations': { type: 'boolean' },
  'max-float-layers': { type: 'string' },
  target: { type: 'string' },
  'target-metric': { type: 'string' },
  'fallback-int16': { type: 'boolean' },
  shard: { type: 'string' },
  force: { type: 'boolean' },
  'hook-timeout': { type: 'string' },
  'no-report': { type: 'boolean' },
  'histogram-stride': { type: 'string' },
  fast: { type: 'boolean' },
  'fast-sample': { type: 'string' },
  exact: { type: 'boolean' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `qcal calibrate`: config + flags → one inference pass → tables (and QDQ, evaluation). */
export async function calibrateCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values: v } = parseFlags('calibrate', argv, FLAGS);
  if (v.help) {
    out(io, CALIBRATE_HELP);
    return 0;
  }
  const flags: Record<string, unknown> = {
    model: v.model,
    data: v.data,
    preprocess: v.preprocess,
    collectors: v.collector,
    numSamples: numberFlag(v['num-samples'], 'num-samples', { integer: true, min: 1 }),
    batchSize: numberFlag(v['batch-size'], 'batch-size', { integer: true, min: 1 }),
    shuffle: v.shuffle,
    seed: numberFlag(v.seed, 'seed', { integer: true }),
    include: v.include,
    exclude: v.exclude,
    allTensors: v['all-tensors'],
    out: v.out,
    formats: v.format,
    qdq: v.qdq,
    quantizeMode: v['quantize-mode'],
    evaluate: v.evaluate,
    biasCorrection: v['bias-correction'],
    crossLayerEqualization: v['cross-layer-equalization'],
    isotone: v.isotone,
    smoothQuant: v['smooth-quant-alpha'] !== undefined ? { alpha: numberFlag(v['smooth-quant-alpha'], 'smooth-quant-alpha', { min: 0, max: 1 }) } : v['smooth-quant'],
    foldAffine: v['no-fold-affine'] ? false : undefined,
    saturationRanges: v['no-saturation-ranges'] ? false : undefined,
    fuseActivations: v['no-fuse-activations'] ? false : undefined,
    evalData: v['eval-data'],
    evalSamples: numberFlag(v['eval-samples'], 'eval-samples', { integer: true, min: 1 }),
    targetCos: numberFlag(v['target-cos'], 'target-cos'),
    maxFloatLayers: numberFlag(v['max-float-layers'], 'max-float-layers', { integer: true, min: 0 }),
    target: numberFlag(v.target, 'target'),
    targetMetric: v['target-metric'],
    fallbackInt16: v['fallback-int16'],
    shard: v.shard,
    force: v.force,
    hookTimeout: numberFlag(v['hook-timeout'], 'hook-timeout', { min: 0 }),
    report: v['no-report'] ? false : undefined,
    histogramStride: numberFlag(v['histogram-stride'], 'histogram-stride', { integer: true, min: 0 }),
    fastSample: fastSampleFlag(v.exact, v.fast, numberFlag(v['fast-sample'], 'fast-sample', { integer: true, min: 0 })),
    quiet: v.quiet,
  };
  const cfg = await loadConfig({ configFile: v.config, cwd: io.cwd, flags, require: ['model', 'data'] });
  return runCalibrate(cfg, io, ['qcal', 'calibrate', ...argv]);
}

/** Runs a resolved configuration (also used by tests and the example). */
export async function runCalibrate(cfg: ResolvedConfig, io: CliIo, command?: readonly string[]): Promise<number> {
  const logger = streamLogger(io.stderr, { quiet: cfg.quiet });
  // `auto` is not a collector: its candidates calibrate in this pass, then a table is chosen from theirs.
  const auto = planAuto(cfg.collectors);
  if (auto.candidates && cfg.shard) throw new ConfigError('collector "auto" chooses ranges after the whole calibration: run the shards with its candidates (--collector ifmr --collector hfmg --collector percentile), not with auto');
  const loaded = loadCollectors(auto.refs, { configDir: cfg.configDir, cwd: cfg.cwd, plugins: cfg.plugins });
  // Composition root: a child container per run; plugins' register(container) may override services.
  const container = createContainer(undefined, { logger, config: cfg, collectors: loaded });
  const collectors = resolveToken(container, COLLECTORS);
  const registry = resolveToken(container, COLLECTOR_DEFINITIONS);
  const progress = createProgress('calibrating', io.stderr, progressMode(io.stderr, cfg.quiet));
  // Every output path is checked (and a killed run's leftovers cleaned) before the first inference.
  const set = openOutputSet(cfg.out, {
    command: cfg.shard ? 'calibrate --shard' : 'calibrate',
    // A shard run replaces its snapshots; a full run leaves snapshots (inputs of a merge) alone.
    ...(cfg.shard ? {} : { keep: ['.snapshot'] }),
    owns: [...collectors.map((c, i, all) => planLabel(c.name, i, all.map((x) => x.name))), ...(auto.candidates ? [AUTO_COLLECTOR] : [])],
    info: { collectors: collectors.map((c) => c.name), ...(cfg.shard ? { shard: `${cfg.shard.index}/${cfg.shard.count}` } : {}) },
    logger,
    cwd: cfg.cwd,
  });
  try {
    const code = await calibrateInto(set, cfg, io, logger, collectors, registry, progress, command, auto);
    return code;
  } finally {
    set.abort();
  }
}

async function calibrateInto(
  set: OutputSet,
  cfg: ResolvedConfig,
  io: CliIo,
  logger: ReturnType<typeof streamLogger>,
  collectors: readonly ResolvedCollector[],
  registry: CollectorRegistry,
  progress: ReturnType<typeof createProgress>,
  command: readonly string[] | undefined,
  auto: AutoPlan,
): Promise<number> {
  const prepared = await prepareCalibration({
    model: cfg.model!,
    data: {
      data: cfg.data!,
      ...(cfg.preprocess !== undefined ? { preprocess: cfg.preprocess as never } : {}),
      ...inputOptions(cfg),
      ...(cfg.numSamples !== undefined ? { numSamples: cfg.numSamples } : {}),
      batchSize: cfg.batchSize,
      shuffle: cfg.shuffle,
      seed: cfg.seed,
      ...(cfg.shard ? { shard: cfg.shard } : {}),
      ...(cfg.limits ? { limits: cfg.limits } : {}),
    },
    collectors,
    ...(cfg.include ? { include: cfg.include } : {}),
    exclude: cfg.exclude,
    tensors: cfg.allTensors ? 'all' : 'quantized',
    quantizeMode: cfg.quantizeMode,
    ...(cfg.foldAffine === false ? { foldAffine: false } : {}),
    ...(cfg.fuseActivations === false ? { fuseActivations: false } : {}),
    logger,
    registry,
    cwd: cfg.cwd,
    ...(cfg.hookTimeout !== undefined ? { hookTimeoutMs: cfg.hookTimeout * 1000 } : {}),
    onProgress: (p) => progress.update(p.samples, p.total),
    // The report's histograms come from this same pass (no second inference).
    histograms: cfg.report ? { stride: cfg.histogramStride } : false,
    ...(cfg.fastSample ? { sampleValues: cfg.fastSample } : {}),
  });
  const shown = (f: string) => path.relative(cfg.cwd, f) || f;

  if (cfg.shard) {
    const instances = createInstances(prepared);
    checkShardable(prepared, instances);
    const { counts, histograms } = await collectPass(prepared, instances);
    progress.done();
    const files = snapshotFiles(prepared, instances, counts, cfg.shard);
    if (cfg.report) files.push(runRecordFile(makeRunRecord(prepared, counts, { ...(histograms ? { histograms } : {}), ...(command ? { command } : {}), shard: cfg.shard })));
    for (const f of files) set.write(f.name, f.data);
    stageReport(set, cfg, io, logger, prepared.plan.collectors.map((p) => p.label));
    set.commit();
    if (!cfg.quiet) out(io, `shard ${cfg.shard.index}/${cfg.shard.count}: ${counts.samples} samples; wrote ${files.map((f) => set.finalPath(f.name)).join(', ')}\nmerge all shards with: qcal merge DIR_1 ... DIR_${cfg.shard.count} --out DIR`);
    return 0;
  }

  let results: readonly CollectorResult[] | undefined;
  let tables: CalibrationTable[];
  let record: RunRecord | undefined;
  const reused = cfg.force ? undefined : findReusableTables(prepared, set.dir);
  const written: string[] = [];
  if (reused) {
    logger.info(`qcal: reusing the tables in ${cfg.out}: same model, data, selection and options (use --force to recompute)`);
    tables = reused;
    written.push(...addRunOutputs(set, prepared.plan.collectors.map((p, i) => ({ label: p.label, table: tables[i]! })), cfg.formats.filter((f) => f !== 'json')));
    if (!cfg.quiet) out(io, `reusing ${written.length} file(s) in ${shown(cfg.out)}: no inference needed`);
  } else {
    const t0 = performance.now();
    const collected = await collectPass(prepared);
    progress.done();
    const result = await finishCalibration(prepared, collected.instances, collected.counts, t0);
    results = result.results;
    tables = results.map((r) => r.table);
    written.push(...addRunOutputs(set, results, cfg.formats.filter((f) => f !== 'json')));
    if (cfg.report) {
      record = makeRunRecord(prepared, collected.counts, {
        ...(collected.histograms ? { histograms: collected.histograms } : {}),
        postCollectMs: result.timings.postCollectMs,
        totalMs: result.timings.totalMs,
        ...(command ? { command } : {}),
      });
      const file = runRecordFile(record);
      set.write(file.name, file.data);
      written.push(set.finalPath(file.name));
    }
    if (!cfg.quiet) {
      const t = result.timings;
      out(io, `calibrated ${result.samples} samples in ${(t.totalMs / 1000).toFixed(1)} s (inference ${(t.inferenceMs / 1000).toFixed(1)} s, collectors ${((t.collectMs + t.postCollectMs) / 1000).toFixed(1)} s)`);
      for (const f of written) out(io, `  wrote ${shown(f)}`);
    }
  }
  let labelled = prepared.plan.collectors.map((p, i) => ({ label: p.label, table: tables[i]! }));
  if (auto.candidates) {
    // `auto`: a range per tensor group from the candidate that harms the QDQ model least; the
    // candidates' tables stay next to it, the INT8 steps below run on the collectors named only.
    const byLabel = Object.fromEntries(labelled.map((e) => [e.label, e.table]));
    const table = await chooseAutoTable(cfg, auto.candidates, auto.blocks, byLabel, io, logger, reused ? set.dir : undefined);
    written.push(...addRunOutputs(set, [{ label: AUTO_COLLECTOR, table }], cfg.formats.filter((f) => f !== 'json')));
    if (!cfg.quiet) out(io, `  wrote ${shown(set.finalPath(`${AUTO_COLLECTOR}.table.json`))}`);
    if (record) { record = { ...record, rangeChoice: table.meta!.rangeChoice as RunRecord['rangeChoice'] }; const file = runRecordFile(record); set.write(file.name, file.data); }
    labelled = [{ label: AUTO_COLLECTOR, table }, ...labelled.filter((e) => auto.named.includes(e.label))];
  }
  // --evaluate and --target-cos are about the INT8 model: they imply --qdq.
  if (cfg.qdq || cfg.evaluate || cfg.targetCos !== undefined || cfg.target !== undefined) {
    const steps = await runQdqSteps(cfg, labelled, io, logger, set);
    // The run record also says what the mixed-precision search kept out of INT8 and what it reached.
    if (record && Object.keys(steps.fallback).length) { const file = runRecordFile({ ...record, fallback: steps.fallback }); set.write(file.name, file.data); }
  }
  if (cfg.report) stageReport(set, cfg, io, logger, [...prepared.plan.collectors.map((p) => p.label), ...(auto.candidates ? [AUTO_COLLECTOR] : [])]);
  // Tables, formats, QDQ models, evaluations and the report appear together, or (on any failure) not at all.
  set.commit();
  return 0;
}

/** The label planCollectors gives the i-th collector (`acme/x` → `acme__x`, repeats numbered). */
function planLabel(name: string, i: number, names: readonly string[]): string {
  const label = collectorLabel(name);
  const n = names.slice(0, i + 1).filter((x) => collectorLabel(x) === label).length;
  return n > 1 ? `${label}-${n}` : label;
}

/** `--exact` (every value), `--fast` (the default sample) or `--fast-sample N`: at most one. */
function fastSampleFlag(exact: boolean | undefined, fast: boolean | undefined, sample: number | undefined): number | undefined {
  const given = [exact && '--exact', fast && '--fast', sample !== undefined && `--fast-sample ${sample}`].filter(Boolean);
  if (given.length > 1) throw new ConfigError(`${given.join(' and ')} contradict each other: --exact looks at every value, --fast (the default) at about ${DEFAULT_SAMPLE_VALUES} values per tensor and batch, --fast-sample N at about N`);
  return exact ? 0 : sample ?? (fast ? DEFAULT_SAMPLE_VALUES : undefined);
}
