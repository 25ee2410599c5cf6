import * as path from 'node:path';
import {
  checkOutputFile,
  measureSensitivity,
  formatSensitivity,
  sensitivityToJson,
  readTableFile,
  loadConfig,
  writeFileAtomic,
  UsageError,
  inputOptions,
  streamLogger,
} from '@qcal/core';
import { parseFlags, numberFlag } from '../args';
import { out, type CliIo } from '../io';
import { openEvalData } from './eval-data';
import { createProgress, progressMode } from '../progress';

const HELP = `Usage: qcal sensitivity --model M.onnx --table T --data DIR|LIST [--eval-samples N]
                        [--metric cosine|sqnr|ctc-char-accuracy|./my-metric.js] [--view loss|gain|both]
                        [--limit K] [--json FILE] [--config FILE]

Per calibrated tensor: how much the model outputs' fidelity (metric vs FP32) drops when only that
tensor is quantized (loss), and how much it recovers when only that tensor stays FP32 with all else
quantized (gain). Sorted most harmful first. Runs one session (a switchable QDQ model) over a small
subset of the data (--eval-samples, default 8): cost grows as tensors × samples; each
configuration runs a switch model restricted to a block of 32 tensors (about a plain inference).
A metric module exports { name, metric(fp32Outputs[], int8Outputs[]) → number } (higher is better).
`;

/** `qcal sensitivity`: per-layer harm of quantization. */
export async function sensitivityCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values: v } = parseFlags('sensitivity', argv, {
    model: { type: 'string' },
    table: { type: 'string' },
    data: { type: 'string' },
    preprocess: { type: 'string' },
    'eval-samples': { type: 'string' },
    metric: { type: 'string' },
    view: { type: 'string' },
    limit: { type: 'string' },
    json: { type: 'string' },
    config: { type: 'string' },
    quiet: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (v.help) {
    out(io, HELP);
    return 0;
  }
  if (!v.table) throw new UsageError('qcal sensitivity: --table T is required (a table from qcal calibrate, or any supported format)');
  const view = v.view ?? 'both';
  if (view !== 'loss' && view !== 'gain' && view !== 'both') throw new UsageError(`--view expects loss, gain or both, got "${view}"`);
  const evalSamples = numberFlag(v['eval-samples'], 'eval-samples', { integer: true, min: 1 }) ?? 8;
  const limit = numberFlag(v.limit, 'limit', { integer: true, min: 1 }) ?? 30;
  const cfg = await loadConfig({ configFile: v.config, cwd: io.cwd, flags: { model: v.model, data: v.data, preprocess: v.preprocess }, require: ['model', 'data'] });
  if (v.json) checkOutputFile(v.json, '--json', io.cwd);
  const table = readTableFile(path.resolve(io.cwd, v.table));
  const data = await openEvalData(cfg.model!, {
    data: cfg.data!,
    ...(cfg.preprocess !== undefined ? { preprocess: cfg.preprocess as never } : {}),
      ...inputOptions(cfg),
    ...(cfg.limits ? { limits: cfg.limits } : {}),
    numSamples: evalSamples,
  }, cfg.cwd);
  const progress = createProgress('sensitivity', io.stderr, progressMode(io.stderr, v.quiet), 'evaluations');
  const report = await measureSensitivity({
    model: cfg.model!,
    table,
    data: data.batches(),
    evalSamples,
    ...(v.metric ? { metric: v.metric } : {}),
    search: { configDir: cfg.configDir, cwd: cfg.cwd },
    views: view === 'both' ? ['quantized-alone', 'float-alone'] : view === 'loss' ? ['quantized-alone'] : ['float-alone'],
    onProgress: (done, total) => progress.update(done, total),
    // Phase lines where no bar is drawn (logs, CI); on a terminal the bar says it.
    ...(progressMode(io.stderr, v.quiet) === 'lines' ? { logger: streamLogger(io.stderr, { quiet: v.quiet }) } : {}),
  });
  progress.done();
  if (v.json) writeFileAtomic(path.resolve(io.cwd, v.json), sensitivityToJson(report));
  out(io, formatSensitivity(report, { limit }));
  return 0;
}
