import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  quantizeFile,
  evaluateModels,
  formatEvaluation,
  evaluationToJson,
  readTableFile,
  loadConfig,
  writeFileAtomic,
  checkOutputFile,
  UsageError,
  type ActivationType,
  type QuantizeMode,
  type QdqReport,
  type FeedTensor,
  inputOptions,
} from '@qcal/core';
import { parseFlags, numberFlag } from '../args';
import { out, type CliIo } from '../io';
import { openEvalData } from './eval-data';
import { createProgress, progressMode } from '../progress';
import { sensitivityCommand } from './sensitivity';

export { sensitivityCommand };

const QUANTIZE_HELP = `Usage: qcal quantize --model M.onnx --table T --out Q.onnx [--quantize-mode smart|full]
                     [--activation-type uint8|int8|auto] [--exclude PAT]... [--no-reduce-range]
                     [--no-fold-affine] [--no-saturation-ranges] [--no-fuse-activations]
                     [--data DIR|LIST [--preprocess NAME] [--num-samples N]
                      [--smooth-quant] [--smooth-quant-alpha A] [--cross-layer-equalization]
                      [--isotone] [--bias-correction]]

Writes a QDQ INT8 ONNX model from an FP32 model and any calibration table (qcal JSON, TensorRT
cache, tpu-mlir table, onnxruntime files): QuantizeLinear/DequantizeLinear on calibrated
activations, per-channel int8 weights for Conv/ConvTranspose/Gemm/MatMul, int32 biases.
Models below opset 13 are upgraded to opset 13. onnxruntime runs the result with integer kernels.
Before quantizing, BatchNormalization and constant Mul/Add after a Conv are folded into it
(--no-fold-affine keeps the Mul/Add), and each range is narrowed to what its consumers can see
(Relu, Clip, HardSigmoid, HardSwish saturate) and its producer can output (--no-saturation-ranges
keeps the table's ranges), and a HardSwish written as Add/Clip/Mul/Div (x·Clip(x+3, 0, 6)/6) is
quantized as one activation: only its input and output get Q/DQ, and it becomes one HardSwish
node (opset 13 declared 14) — --no-fuse-activations quantizes each step; all three are exact in
float and recorded in the model's qcal.passes.
The passes that measure the model (SmoothQuant, cross-layer equalization, isotone ranges, bias
correction; see qcal calibrate --help) read --data: the first --num-samples samples (default 16).
`;

const EVALUATE_HELP = `Usage: qcal evaluate --model M.onnx --qdq Q.onnx --data DIR|LIST [--preprocess NAME]
                     [--num-samples N] [--per-layer] [--json FILE] [--config FILE]

Compares the INT8 model with its FP32 model on the data: per model output, cosine similarity,
SQNR (dB) and max abs error; with --per-layer, the same for every calibrated tensor, worst first.
`;

function parseActivationType(v: string | undefined): ActivationType | 'auto' | undefined {
  if (v === undefined) return undefined;
  if (v !== 'uint8' && v !== 'int8' && v !== 'auto') throw new UsageError(`--activation-type expects uint8, int8 or auto, got "${v}"`);
  return v;
}

function parseMode(v: string | undefined): QuantizeMode | undefined {
  if (v === undefined) return undefined;
  if (v !== 'smart' && v !== 'full') throw new UsageError(`--quantize-mode expects smart or full, got "${v}"`);
  return v;
}

/** `qcal quantize`: model + table → QDQ model. */
export async function quantizeCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values: v } = parseFlags('quantize', argv, {
    model: { type: 'string' },
    table: { type: 'string' },
    out: { type: 'string' },
    'quantize-mode': { type: 'string' },
    'activation-type': { type: 'string' },
    exclude: { type: 'string', multiple: true },
    'no-reduce-range': { type: 'boolean' },
    'no-fold-affine': { type: 'boolean' },
    'no-saturation-ranges': { type: 'boolean' },
    'no-fuse-activations': { type: 'boolean' },
    data: { type: 'string' },
    preprocess: { type: 'string' },
    'num-samples': { type: 'string' },
    'bias-correction': { type: 'boolean' },
    'cross-layer-equalization': { type: 'boolean' },
    'smooth-quant': { type: 'boolean' },
    'smooth-quant-alpha': { type: 'string' },
    isotone: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (v.help) {
    out(io, QUANTIZE_HELP);
    return 0;
  }
  if (!v.model || !v.table || !v.out) throw new UsageError('qcal quantize: --model, --table and --out are required; see qcal quantize --help');
  checkOutputFile(v.out, '--out', io.cwd);
  const table = readTableFile(path.resolve(io.cwd, v.table));
  const mode = parseMode(v['quantize-mode']);
  const act = parseActivationType(v['activation-type']);
  const alpha = numberFlag(v['smooth-quant-alpha'], 'smooth-quant-alpha', { min: 0, max: 1 });
  const smooth = alpha !== undefined ? { alpha } : v['smooth-quant'];
  const measuring = !!(v['bias-correction'] || v['cross-layer-equalization'] || smooth || v.isotone);
  if (measuring && !v.data) throw new UsageError('qcal quantize: --bias-correction, --cross-layer-equalization, --smooth-quant and --isotone measure the model on calibration samples: give them with --data DIR|LIST (and --preprocess as for calibrate)');
  if (!measuring && v.data) throw new UsageError('qcal quantize: --data is only read by the passes that measure (--bias-correction, --cross-layer-equalization, --smooth-quant, --isotone); name one or drop --data');
  let calibration: Record<string, FeedTensor>[] | undefined;
  if (measuring) {
    const data = await openEvalData(path.resolve(io.cwd, v.model), {
      data: v.data!,
      ...(v.preprocess !== undefined ? { preprocess: v.preprocess as never } : {}),
      numSamples: numberFlag(v['num-samples'], 'num-samples', { integer: true, min: 1 }) ?? 16,
    }, io.cwd);
    calibration = [];
    for await (const b of data.batches()) calibration.push({ ...b.feeds });
  }
  const r = await quantizeFile({
    model: path.resolve(io.cwd, v.model),
    table,
    outPath: path.resolve(io.cwd, v.out),
    ...(mode ? { quantizeMode: mode } : {}),
    ...(act ? { activationType: act } : {}),
    ...(v.exclude ? { exclude: v.exclude } : {}),
    ...(v['no-reduce-range'] ? { reduceRange: false } : {}),
    ...(v['no-fold-affine'] ? { foldAffine: false } : {}),
    ...(v['no-saturation-ranges'] ? { saturationRanges: false } : {}),
    ...(v['no-fuse-activations'] ? { fuseActivations: false } : {}),
    ...(calibration ? { calibration } : {}),
    ...(v['bias-correction'] ? { biasCorrection: { samples: 8 } } : {}),
    ...(v['cross-layer-equalization'] ? { crossLayerEqualization: true } : {}),
    ...(smooth ? { smoothQuant: smooth } : {}),
    ...(v.isotone ? { isotone: true } : {}),
  });
  for (const w of r.warnings) io.stderr.write(`warning: ${w}\n`);
  out(io, `wrote ${path.relative(io.cwd, r.outPath!) || r.outPath}: ${summarizeReport(r.report)}`);
  return 0;
}

/** One line about a QDQ build. */
export function summarizeReport(r: QdqReport & { passes?: readonly { name: string; summary: Record<string, unknown> }[] }): string {
  const parts = [`${r.tensors.length} activations and ${r.weights.length} weights quantized (${r.activationType}, ${r.quantizeMode})`];
  if (r.inBodies) parts.push(`${r.inBodies.activations} activations and ${r.inBodies.weights} weights of them inside If/Loop/Scan bodies`);
  if (r.skipped.length) parts.push(`${r.skipped.length} table tensors left float`);
  const affine = r.foldedBatchNorms.filter((f) => f.op === 'Mul' || f.op === 'Add').length;
  if (r.foldedBatchNorms.length > affine) parts.push(`${r.foldedBatchNorms.length - affine} BatchNorms folded`);
  if (affine) parts.push(`${affine} constant Mul/Add folded into Conv`);
  if (r.opset.from !== r.opset.to) parts.push(`opset ${r.opset.from} → ${r.opset.to}`);
  for (const p of r.passes ?? []) {
    const n = p.summary.layers ?? p.summary.pairs ?? p.summary.sites ?? p.summary.chains ?? p.summary.tensors;
    const what = p.summary.layers !== undefined ? 'layers' : p.summary.pairs !== undefined ? 'layer pairs' : p.summary.sites !== undefined ? 'MatMul inputs' : p.summary.chains !== undefined ? 'HardSwish chains' : 'tensors';
    parts.push(`${p.name}${n !== undefined ? ` on ${String(n)} ${what}` : ''}`);
  }
  return parts.join(', ');
}

/** `qcal evaluate`: FP32 vs INT8. */
export async function evaluateCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values: v } = parseFlags('evaluate', argv, {
    model: { type: 'string' },
    qdq: { type: 'string' },
    data: { type: 'string' },
    preprocess: { type: 'string' },
    'num-samples': { type: 'string' },
    'batch-size': { type: 'string' },
    'per-layer': { type: 'boolean' },
    json: { type: 'string' },
    config: { type: 'string' },
    quiet: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (v.help) {
    out(io, EVALUATE_HELP);
    return 0;
  }
  const cfg = await loadConfig({
    configFile: v.config,
    cwd: io.cwd,
    flags: {
      model: v.model,
      data: v.data,
      preprocess: v.preprocess,
      numSamples: numberFlag(v['num-samples'], 'num-samples', { integer: true, min: 1 }),
      batchSize: numberFlag(v['batch-size'], 'batch-size', { integer: true, min: 1 }),
    },
    require: ['model', 'data'],
  });
  if (v.json) checkOutputFile(v.json, '--json', io.cwd);
  if (!v.qdq) throw new UsageError('qcal evaluate: --qdq Q.onnx is required (write one with qcal quantize or qcal calibrate --qdq)');
  const qdq = path.resolve(io.cwd, v.qdq);
  if (!fs.existsSync(qdq)) throw new UsageError(`qcal evaluate: ${qdq}: no such file`);
  const data = await openEvalData(cfg.model!, {
    data: cfg.data!,
    ...(cfg.preprocess !== undefined ? { preprocess: cfg.preprocess as never } : {}),
      ...inputOptions(cfg),
    ...(cfg.limits ? { limits: cfg.limits } : {}),
    ...(cfg.numSamples !== undefined ? { numSamples: cfg.numSamples } : {}),
    batchSize: cfg.batchSize,
  }, cfg.cwd);
  const progress = createProgress('evaluating', io.stderr, progressMode(io.stderr, v.quiet));
  const report = await evaluateModels({
    fp32Model: cfg.model!,
    int8Model: qdq,
    batches: data.batches(),
    perLayer: v['per-layer'] ?? false,
    ...(data.sequence ? { feedback: data.sequence.feedback } : {}),
    onProgress: (n) => progress.update(n, data.count),
  });
  progress.done();
  if (v.json) writeFileAtomic(path.resolve(io.cwd, v.json), evaluationToJson(report));
  out(io, formatEvaluation(report));
  return 0;
}
