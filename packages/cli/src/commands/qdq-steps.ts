import * as path from 'node:path';
import {
  quantizeFile,
  evaluateModels,
  formatEvaluationSummary,
  evaluationToJson,
  writeFileAtomic,
  type ResolvedConfig,
  type CalibrationTable,
  type Logger,
} from '@qcal/core';
import { out, type CliIo } from '../io';
import { openEvalData } from './eval-data';
import { summarizeReport } from './int8';

/** Evaluation samples when neither evalSamples nor a separate evalData says otherwise. */
export const DEFAULT_EVAL_SAMPLES = 16;

/**
 * After calibration: `<out>/<collector>.qdq.onnx` per collector and, with `evaluate`, FP32-vs-INT8
 * metrics per collector side by side (also written as `<collector>.evaluation.json`).
 */
export async function runQdqSteps(cfg: ResolvedConfig, tables: readonly { label: string; table: CalibrationTable }[], io: CliIo, logger: Logger): Promise<void> {
  const summaries: string[] = [];
  for (const { label, table } of tables) {
    const outPath = path.join(cfg.out, `${label}.qdq.onnx`);
    const r = await quantizeFile({ model: cfg.model!, table, outPath, quantizeMode: cfg.quantizeMode });
    for (const w of r.warnings) logger.warn(w);
    if (!cfg.quiet) out(io, `  wrote ${path.relative(cfg.cwd, outPath) || outPath}: ${summarizeReport(r.report)}`);
    if (cfg.evaluate || cfg.targetCos !== undefined) {
      const data = await openEvalData(cfg.model!, {
        data: cfg.evalData ?? cfg.data!,
        ...(cfg.preprocess !== undefined ? { preprocess: cfg.preprocess as never } : {}),
        numSamples: cfg.evalSamples ?? (cfg.evalData ? cfg.numSamples ?? Number.MAX_SAFE_INTEGER : DEFAULT_EVAL_SAMPLES),
      }, cfg.cwd);
      const report = await evaluateModels({ fp32Model: cfg.model!, int8Model: outPath, batches: data.batches(), latencyRuns: 0 });
      writeFileAtomic(path.join(cfg.out, `${label}.evaluation.json`), evaluationToJson(report));
      summaries.push(formatEvaluationSummary(report, `${label}: `));
    }
  }
  if (summaries.length && !cfg.quiet) {
    out(io, `FP32 vs INT8 (${cfg.evalData ? 'evaluation data' : 'calibration samples'}):`);
    for (const s of summaries) out(io, `  ${s}`);
  }
}
