import * as path from 'node:path';
import {
  quantizeFile,
  evaluateModels,
  formatEvaluationSummary,
  evaluationToJson,
  searchFallback,
  formatFallback,
  sensitivityToJson,
  addRunOutputs,
  type OutputSet,
  type ResolvedConfig,
  type CalibrationTable,
  type Logger,
  type TableFormat,
  inputOptions,
  type FeedTensor,
  type RunRecord,
} from '@qcal/core';
import { out, type CliIo } from '../io';
import { openEvalData } from './eval-data';
import { summarizeReport } from './int8';

/** Evaluation samples when neither evalSamples nor a separate evalData says otherwise. */
export const DEFAULT_EVAL_SAMPLES = 16;
/** Samples the FP32-fallback search ranks and searches on (held-out ones follow them). */
export const DEFAULT_SEARCH_SAMPLES = 8;

/**
 * Blocks of the FP32-fallback search's two-level ranking (see rankTensors), how many of the most
 * harmful ones it refines (each member probed alone: REFINE) down to single tensors, and how many
 * float tensors it tries to re-quantize afterwards. Chosen on the PP-OCRv4 detector (README, "the
 * search"): with the writer's fuse-activations (153 quantized tensors, blocks of 13), refining the
 * worst block by members kept 4 tensors float for 0.99 (held-out 0.9917 / 0.9915 on scenes of two
 * unseen seeds; 37 builds) where halving it kept 14 (50 builds): effects are not additive, so a
 * half's harm says little about its members'. Before that pass (273 tensors) halving kept 9 in 72 s.
 */
export const RANK_BLOCKS = 12;
export const REFINED_BLOCKS = 1;
export const PRUNE_LIMIT = 4;
export const REFINE: 'members' | 'halves' = 'members';

/** The fallback search's goal: `targetCos` (cosine), or `target` on `targetMetric` (default cosine). */
export function searchGoal(cfg: ResolvedConfig): { metric: string; target: number } | undefined {
  if (cfg.targetCos !== undefined) return { metric: 'cosine', target: cfg.targetCos };
  if (cfg.target !== undefined) return { metric: cfg.targetMetric ?? 'cosine', target: cfg.target };
  return undefined;
}

/**
 * Samples the fallback search ranks tensors on: all search samples. With build probes a sample
 * costs little next to the build (~0.2 s vs ~1.5 s on the detector) and 2 were too few: on the
 * recognizer (ctc-char-accuracy 0.985) ranking on 2 lines kept 47 tensors float, on 8 lines 1
 * (held-out 0.990 both); on the detector (cosine 0.993) 53 vs 48.
 */
export const RANK_SAMPLES = DEFAULT_SEARCH_SAMPLES;

/** Calibration samples bias correction measures on (the first ones of the calibration data). */
export const BIAS_CORRECTION_SAMPLES = 8;

/** The QDQ writer's options from the configuration (placement and the default-on range passes). */
export function qdqOptions(cfg: ResolvedConfig): { quantizeMode: 'smart' | 'full'; foldAffine?: boolean; saturationRanges?: boolean; fuseActivations?: boolean } {
  return {
    quantizeMode: cfg.quantizeMode,
    ...(cfg.foldAffine === false ? { foldAffine: false } : {}),
    ...(cfg.saturationRanges === false ? { saturationRanges: false } : {}),
    ...(cfg.fuseActivations === false ? { fuseActivations: false } : {}),
  };
}

/** Calibration samples SmoothQuant and cross-layer equalization measure per-channel ranges on. */
export const CHANNEL_RANGE_SAMPLES = 16;

/** The first `numSamples` calibration samples' feeds (the run's data, preprocessing and input options). */
export async function calibrationFeeds(cfg: ResolvedConfig, numSamples: number): Promise<Record<string, FeedTensor>[]> {
  const data = await openEvalData(cfg.model!, {
    data: cfg.data!,
    ...(cfg.preprocess !== undefined ? { preprocess: cfg.preprocess as never } : {}),
    ...inputOptions(cfg),
    ...(cfg.limits ? { limits: cfg.limits } : {}),
    numSamples,
  }, cfg.cwd);
  const feeds: Record<string, FeedTensor>[] = [];
  for await (const b of data.batches()) feeds.push({ ...b.feeds });
  return feeds;
}

/**
 * After calibration, per collector: with `targetCos`, the FP32-fallback search (the most harmful
 * tensors kept float until the target holds on held-out samples; the table is rewritten with the
 * exclusion list in `meta.floatFallback`, and `<collector>.fallback.json` reports the trade);
 * `<out>/<collector>.qdq.onnx`; with `evaluate`, FP32-vs-INT8 metrics side by side.
 */
export async function runQdqSteps(cfg: ResolvedConfig, tables: readonly { label: string; table: CalibrationTable }[], io: CliIo, logger: Logger, set: OutputSet): Promise<{ fallback: NonNullable<RunRecord['fallback']> }> {
  const fallback: NonNullable<RunRecord['fallback']> = {};
  const summaries: string[] = [];
  const evalSource = (numSamples: number) => openEvalData(cfg.model!, {
    data: cfg.evalData ?? cfg.data!,
    ...(cfg.preprocess !== undefined ? { preprocess: cfg.preprocess as never } : {}),
      ...inputOptions(cfg),
    ...(cfg.limits ? { limits: cfg.limits } : {}),
    numSamples,
  }, cfg.cwd);
  for (const entry of tables) {
    const { label } = entry;
    let table = entry.table;
    const goal = searchGoal(cfg);
    if (goal) {
      const searchData = await openEvalData(cfg.model!, {
        data: cfg.data!,
        ...(cfg.preprocess !== undefined ? { preprocess: cfg.preprocess as never } : {}),
      ...inputOptions(cfg),
    ...(cfg.limits ? { limits: cfg.limits } : {}),
        ...(cfg.evalData ? { numSamples: DEFAULT_SEARCH_SAMPLES } : {}),
      }, cfg.cwd);
      const heldOut = cfg.evalSamples ?? DEFAULT_SEARCH_SAMPLES;
      const evalData = cfg.evalData ? await evalSource(heldOut) : undefined;
      const r = await searchFallback({
        model: cfg.model!,
        table,
        data: searchData.batches(),
        ...(evalData ? { evalData: () => evalData.batches() } : {}),
        evalSamples: DEFAULT_SEARCH_SAMPLES,
        heldOutSamples: heldOut,
        target: goal.target,
        metric: goal.metric,
        // A discrete metric (characters read right) gives a probe on 2 samples no signal: rank by cosine.
        ...(goal.metric !== 'cosine' ? { rankMetric: 'cosine' } : {}),
        ...(cfg.fallbackInt16 ? { int16: true } : {}),
        ...(cfg.maxFloatLayers !== undefined ? { maxFloatLayers: cfg.maxFloatLayers } : {}),
        // Nothing is ranked when the fully quantized model already meets the target. Otherwise a
        // two-level ranking on real QDQ builds: RANK_BLOCKS blocks of consecutive tensors, then each
        // tensor of the most harmful block probed alone.
        rankBlocks: RANK_BLOCKS,
        rankSamples: RANK_SAMPLES,
        probe: 'build',
        refine: REFINE,
        maxRefinedBlocks: REFINED_BLOCKS,
        pruneLimit: PRUNE_LIMIT,
        search: { configDir: cfg.configDir, cwd: cfg.cwd },
        qdq: qdqOptions(cfg),
      });
      const { table: searched, ...report } = r;
      table = searched;
      fallback[label] = { metric: r.metric, target: r.target, met: r.met, quantizable: r.quantizable, float: r.exclude, int16: r.int16, reached: r.score, allQuantized: r.allQuantized, searchMs: Math.round(r.cost.ms), builds: r.cost.builds };
      addRunOutputs(set, [{ label, table }], cfg.formats.filter((f): f is TableFormat => f !== 'json'), [
        { name: `${label}.fallback.json`, data: sensitivityToJson(report) },
      ]);
      if (!cfg.quiet) out(io, `  ${label}: ${formatFallback(r).split('\n').join('\n    ')}`);
      if (!r.met) logger.warn(`${label}: the target ${r.metric} ${goal.target} was not reached${cfg.maxFloatLayers !== undefined ? ` within ${cfg.maxFloatLayers} float layers` : ''}`);
    }
    // Staged with the tables: the QDQ model of a table appears together with it, never next to an older one.
    const outPath = set.pathFor(`${label}.qdq.onnx`);
    const finalPath = set.finalPath(`${label}.qdq.onnx`);
    const measuring = cfg.smoothQuant || cfg.crossLayerEqualization || cfg.isotone;
    const calibration = cfg.biasCorrection || measuring ? await calibrationFeeds(cfg, measuring ? CHANNEL_RANGE_SAMPLES : BIAS_CORRECTION_SAMPLES) : undefined;
    const r = await quantizeFile({
      model: cfg.model!, table, outPath, ...qdqOptions(cfg),
      ...(calibration ? { calibration } : {}),
      ...(cfg.biasCorrection ? { biasCorrection: { samples: BIAS_CORRECTION_SAMPLES } } : {}),
      ...(cfg.crossLayerEqualization ? { crossLayerEqualization: true } : {}),
      ...(cfg.isotone ? { isotone: true } : {}),
      ...(cfg.smoothQuant ? { smoothQuant: typeof cfg.smoothQuant === 'object' ? { ...cfg.smoothQuant } : true } : {}),
    });
    // The table records what the QDQ model built from it went through (its ranges stay those of the FP32 model).
    if (r.report.passes.length || table.meta?.qdqPasses !== undefined) {
      const { qdqPasses: _old, ...meta } = table.meta ?? {};
      table = { ...table, meta: r.report.passes.length ? { ...meta, qdqPasses: r.report.passes } : meta };
      addRunOutputs(set, [{ label, table }], cfg.formats.filter((f): f is TableFormat => f !== 'json'));
    }
    for (const w of r.warnings) logger.warn(w);
    if (!cfg.quiet) out(io, `  wrote ${path.relative(cfg.cwd, finalPath) || finalPath}: ${summarizeReport(r.report)}`);
    if (cfg.evaluate) {
      const data = await evalSource(cfg.evalSamples ?? (cfg.evalData ? cfg.numSamples ?? Number.MAX_SAFE_INTEGER : DEFAULT_EVAL_SAMPLES));
      // Per layer too: the report draws every tensor's SQNR along the graph.
      const report = await evaluateModels({ fp32Model: cfg.model!, int8Model: outPath, batches: data.batches(), latencyRuns: 0, perLayer: true, ...(data.sequence ? { feedback: data.sequence.feedback } : {}) });
      set.write(`${label}.evaluation.json`, evaluationToJson(report));
      summaries.push(formatEvaluationSummary(report, `${label}: `));
    }
  }
  if (summaries.length && !cfg.quiet) {
    out(io, `FP32 vs INT8 (${cfg.evalData ? 'evaluation data' : 'calibration samples'}):`);
    for (const s of summaries) out(io, `  ${s}`);
  }
  return { fallback };
}
