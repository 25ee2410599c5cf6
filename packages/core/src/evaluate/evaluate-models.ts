import type * as ort from 'onnxruntime-node';
import { DataError } from '../errors';
import { indexGraph } from '../onnx/graph-index';
import { encodeModel, type OnnxModel } from '../onnx/model';
import { DEQUANTIZED_METADATA_KEY, SATURATED_METADATA_KEY } from '../qdq/build-qdq';
import { accumulate, compareWorstFirst, createAccumulator, finishMetrics, type MetricAccumulator, type TensorMetrics } from './metrics';
import { createSession, exposeTensors, readModelSource, runSession, toOrtFeeds, type EvaluationItem, type ModelSource } from './session-io';

export interface EvaluateOptions {
  fp32Model: ModelSource;
  int8Model: ModelSource;
  /** Evaluation data: feeds per inference (or data-layer batches). Iterated once. */
  batches: Iterable<EvaluationItem> | AsyncIterable<EvaluationItem>;
  /** Also compare every calibrated tensor (the INT8 model's dequantized value vs FP32). */
  perLayer?: boolean;
  /** Tensors to compare per layer (default: every tensor the QDQ model quantized). */
  tensors?: readonly string[];
  /** Timed runs per model on the first batch for latency (default 10; 0 to skip). */
  latencyRuns?: number;
  sessionOptions?: ort.InferenceSession.SessionOptions;
  /** Called after each batch with the number of samples done. */
  onProgress?: (samples: number) => void;
  /**
   * Sequence mode (input name → output name): each model is fed its OWN previous output for these
   * inputs (the INT8 model streams on its own state, as it would deployed); items with `step` 0
   * start a sequence with the values the data gives.
   */
  feedback?: Readonly<Record<string, string>>;
}

export interface EvaluationReport {
  /** Samples (or inferences, for bare feeds without a batch dim) compared. */
  samples: number;
  batches: number;
  /** Per model output, in output order. */
  outputs: TensorMetrics[];
  /** Per calibrated tensor, worst first (with perLayer). */
  layers?: TensorMetrics[];
  /** Requested per-layer tensors that one of the models lacks (e.g. a Conv output folded into BN). */
  missing?: string[];
  /** Mean wall time of one inference on the first batch, without exposed tensors. */
  latency?: { fp32Ms: number; int8Ms: number; runs: number };
}

/** The tensor → DequantizeLinear-output map a QDQ model written by qcal carries in its metadata. */
export function dequantizedMap(model: OnnxModel): Record<string, string> {
  const m = model.metadataProps?.find((p) => p.key === DEQUANTIZED_METADATA_KEY);
  if (!m) return {};
  try { return JSON.parse(m.value) as Record<string, string>; } catch { return {}; }
}

async function meanLatency(s: ort.InferenceSession, feeds: Record<string, ort.Tensor>, runs: number): Promise<number> {
  for (let i = 0; i < 2; i++) await s.run(feeds);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) await s.run(feeds);
  return Number(process.hrtime.bigint() - t0) / 1e6 / runs;
}

/**
 * Compares an INT8 (QDQ) model with its FP32 original over evaluation data: cosine similarity,
 * SQNR and max abs error per model output and, with `perLayer`, per calibrated tensor (the INT8
 * model's DequantizeLinear output that replaced the tensor, or the tensor itself where it was not
 * quantized). Metrics accumulate as the batches stream by; memory is one batch's tensors.
 * Note: exposing tensors as outputs keeps onnxruntime from fusing the Q/DQ next to them, so
 * per-layer numbers come from its float simulation of the same quantization; the output metrics
 * always come from separate sessions of the unchanged models (the real integer kernels).
 */
export async function evaluateModels(opts: EvaluateOptions): Promise<EvaluationReport> {
  const fp = readModelSource(opts.fp32Model, 'FP32');
  const q = readModelSource(opts.int8Model, 'INT8');
  const outNames = fp.model.graph!.output.map((o) => o.name);
  const qOut = new Set(q.model.graph!.output.map((o) => o.name));
  const lacking = outNames.filter((n) => !qOut.has(n));
  if (lacking.length) throw new DataError(`${q.where}: lacks output(s) ${lacking.join(', ')} of ${fp.where}; expected the QDQ model built from that FP32 model`);

  const pairs: { name: string; fp: string; q: string }[] = [];
  const missing: string[] = [];
  let clampedAt: Record<string, [number | null, number | null]> = {};
  if (opts.perLayer) {
    const sat = q.model.metadataProps?.find((p) => p.key === SATURATED_METADATA_KEY)?.value;
    if (sat) try { clampedAt = JSON.parse(sat) as typeof clampedAt; } catch { /* not ours: compare unclamped */ }
    const dq = dequantizedMap(q.model);
    const fpIdx = indexGraph(fp.model);
    const qIdx = indexGraph(q.model);
    for (const name of opts.tensors ?? Object.keys(dq)) {
      const qName = dq[name] ?? (qIdx.tensors.has(name) ? name : undefined);
      // Per-layer comparison reads main-graph tensors (values inside If/Loop bodies are not exposed here).
      if (!fpIdx.tensors.has(name) || !qName || fpIdx.tensors.get(name)!.graphPath !== '') missing.push(name);
      else pairs.push({ name, fp: name, q: qName });
    }
  }
  const so = opts.sessionOptions;
  const fpS = await createSession(fp.bytes, fp.where, so, fp.model);
  const qS = await createSession(q.bytes, q.where, so, q.model);
  const fpL = pairs.length ? await createSession((encodeExposed(fp.model, pairs.map((p) => p.fp))), fp.where, so, fp.model) : fpS;
  const qL = pairs.length ? await createSession((encodeExposed(q.model, pairs.map((p) => p.q))), q.where, so, q.model) : qS;

  const outAcc = new Map<string, MetricAccumulator>(outNames.map((n) => [n, createAccumulator()]));
  const layerAcc = new Map<string, MetricAccumulator>(pairs.map((p) => [p.name, createAccumulator()]));
  let samples = 0, batches = 0;
  const fpState = new Map<string, ort.Tensor>();
  const qState = new Map<string, ort.Tensor>();
  let latency: EvaluationReport['latency'];
  const runs = opts.latencyRuns ?? 10;
  for await (const item of opts.batches as AsyncIterable<EvaluationItem>) {
    const { feeds, count } = toOrtFeeds(item);
    if (batches === 0 && runs > 0) latency = { fp32Ms: await meanLatency(fpS, feeds, runs), int8Ms: await meanLatency(qS, feeds, runs), runs };
    const step = (item as { step?: number }).step;
    const fb = opts.feedback && step !== undefined && step > 0 ? Object.entries(opts.feedback) : [];
    const fpFeeds = fb.length ? { ...feeds, ...Object.fromEntries(fb.map(([i]) => [i, fpState.get(i)!])) } : feeds;
    const qFeeds = fb.length ? { ...feeds, ...Object.fromEntries(fb.map(([i]) => [i, qState.get(i)!])) } : feeds;
    // Outputs always from the plain sessions: exposing tensors keeps onnxruntime from fusing
    // Q/DQ pairs, so the exposed INT8 model's outputs would be its float simulation, not its kernels.
    const a = await runSession(fpS, fpFeeds, fp.where, batches);
    const b = await runSession(qS, qFeeds, q.where, batches);
    const la = fpL === fpS ? a : await runSession(fpL, fpFeeds, fp.where, batches);
    const lb = qL === qS ? b : await runSession(qL, qFeeds, q.where, batches);
    for (const [i, o] of Object.entries(opts.feedback ?? {})) {
      if (!a[o] || !b[o]) throw new DataError(`evaluation: sequence feedback output "${o}" missing from an inference result`);
      fpState.set(i, a[o]!);
      qState.set(i, b[o]!);
    }
    const add = (acc: MetricAccumulator, name: string, x: ort.Tensor | undefined, y: ort.Tensor | undefined, clamp?: [number | null, number | null]): void => {
      if (!x || !y) throw new DataError(`evaluation: tensor "${name}" missing from an inference result`);
      if (x.data.length !== y.data.length) throw new DataError(`evaluation: tensor "${name}" has dims [${x.dims}] in FP32 but [${y.dims}] in INT8`);
      let ref = x.data as Float32Array;
      // A range narrowed to what the consumers see: the FP32 value as those consumers see it.
      if (clamp) { const lo = clamp[0] ?? -Infinity, hi = clamp[1] ?? Infinity; ref = ref.map((v) => (v < lo ? lo : v > hi ? hi : v)); }
      accumulate(acc, ref, y.data as Float32Array);
    };
    for (const n of outNames) add(outAcc.get(n)!, n, a[n], b[n]);
    for (const p of pairs) add(layerAcc.get(p.name)!, p.name, la[p.fp], lb[p.q], clampedAt[p.name]);
    samples += count;
    batches++;
    opts.onProgress?.(samples);
  }
  if (batches === 0) throw new DataError('evaluation: no data: the data source gave no samples');
  for (const s of new Set([fpS, qS, fpL, qL])) await s.release();
  const report: EvaluationReport = {
    samples,
    batches,
    outputs: outNames.map((n) => finishMetrics(n, outAcc.get(n)!)),
    ...(opts.perLayer ? { layers: pairs.map((p) => finishMetrics(p.name, layerAcc.get(p.name)!)).sort(compareWorstFirst) } : {}),
    ...(missing.length ? { missing } : {}),
    ...(latency ? { latency } : {}),
  };
  return report;
}

function encodeExposed(model: OnnxModel, names: string[]): Uint8Array {
  return encodeModel(exposeTensors(model, names));
}
