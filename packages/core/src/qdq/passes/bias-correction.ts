import { encodeModel, makeFloatTensor, type OnnxModel, type OnnxTensor } from '../../onnx/model';
import { NameScope } from '../../onnx/graph-builder';
import { createSession, runBatch, type SessionSettings } from '../../runner/session';
import type { FeedTensor } from '../../tensor';
import type { CalibrationTable } from '../../table';
import { Constants } from '../constants';
import { buildQdqModel, prepareQdqWork, type QdqOptions } from '../build-qdq';
import { findBiasSites, type BiasSite } from './bias-sites';
import { withChannelMeans } from './channel-means';

export interface BiasCorrectionOptions {
  /** Calibration samples measured (default 16; the first ones of `feeds`). */
  samples?: number;
  /**
   * Rounds (default 8, at most one per layer): the layers, in graph order, are split into this many
   * consecutive blocks; round r corrects block r, measured on the model with blocks < r corrected.
   * One round correcting every layer at once over-corrects deep models (each layer's shift is
   * partly inherited from the layers before it, which are corrected too): measured on the
   * PP-OCRv4 recognizer, all-at-once broke it, block-wise did not.
   */
  iterations?: number;
  session?: SessionSettings;
}

export interface BiasCorrectionResult {
  /** Corrected bias values by site output name; apply with {@link applyBiasCorrection}. */
  biases: Map<string, Float32Array>;
  sites: { node: string; opType: string; channels: number; meanAbsShift: number; maxAbsShift: number }[];
  samples: number;
  iterations: number;
  inferences: number;
}

async function channelMeans(model: OnnxModel, sites: readonly BiasSite[], feeds: readonly Readonly<Record<string, FeedTensor>>[], where: string, session?: SessionSettings): Promise<Float64Array[]> {
  const m = withChannelMeans(model, sites);
  const s = await createSession(encodeModel(m.model), where, session);
  const sums = sites.map((x) => new Float64Array(x.channels));
  try {
    for (let i = 0; i < feeds.length; i++) {
      const r = await runBatch(s, feeds[i]!, m.outputs, `${where}, sample ${i + 1}`);
      m.outputs.forEach((o, k) => { const d = r[o]!.data as Float32Array; const acc = sums[k]!; for (let c = 0; c < acc.length; c++) acc[c] = acc[c]! + d[c]!; });
    }
  } finally { await s.release(); }
  for (const a of sums) for (let c = 0; c < a.length; c++) a[c] = a[c]! / feeds.length;
  return sums;
}

/**
 * Empirical bias correction (Nagel et al. 2019 §4.2; NNCF's BiasCorrection measures the same
 * shift layer by layer, its FastBiasCorrection from float inputs only): quantization moves the mean
 * of every output channel (rounded weights, clipped and rounded inputs); the shift
 * E[y_int8 − y_fp32] per channel, measured on calibration samples with the real QDQ model (every
 * layer fed by the quantized layers before it, as deployed), is subtracted from the bias. All layers
 * are corrected at once per round; later rounds measure the corrected model and refine (a layer's
 * correction changes what the layers after it see). Cost: one FP32 pass and `iterations` QDQ passes
 * over `samples` samples, with per-channel means reduced in the graph.
 * Sites: see findBiasSites. Layers without a constant bias are left alone.
 */
export async function measureBiasCorrection(model: OnnxModel, table: CalibrationTable, qdq: QdqOptions, feeds: readonly Readonly<Record<string, FeedTensor>>[], opts: BiasCorrectionOptions = {}): Promise<BiasCorrectionResult> {
  const use = feeds.slice(0, opts.samples ?? 16);
  // The float model the writer quantizes, with earlier passes' rewrites (equalized weights, smoothed biases).
  const base = prepareQdqWork(model, qdq).fold.model;
  const work = qdq.rewrite ? qdq.rewrite(base) : base;
  const iterations = Math.max(1, Math.min(opts.iterations ?? Infinity, findBiasSites(work).length || 1));
  const sites = findBiasSites(work);
  const consts = new Constants(work.graph!);
  const biases = new Map<string, Float32Array>(sites.map((s) => [s.output, Float32Array.from(consts.get(s.bias)!.values)]));
  const original = new Map([...biases].map(([k, v]) => [k, Float32Array.from(v)]));
  if (!sites.length || !use.length) return { biases, sites: [], samples: use.length, iterations: 0, inferences: 0 };
  const ref = await channelMeans(work, sites, use, 'bias correction (FP32)', opts.session);
  let inferences = use.length;
  const per = Math.ceil(sites.length / iterations);
  for (let it = 0; it < iterations; it++) {
    const block = sites.slice(it * per, (it + 1) * per);
    if (!block.length) break;
    const q = buildQdqModel(model, table, { ...qdq, rewrite: (w) => applyBiasCorrection(qdq.rewrite ? qdq.rewrite(w) : w, biases) }).model;
    const got = await channelMeans(q, block, use, `bias correction (QDQ, round ${it + 1})`, opts.session);
    inferences += use.length;
    block.forEach((s, j) => {
      const k = it * per + j;
      const b = biases.get(s.output)!;
      for (let c = 0; c < b.length; c++) {
        const shift = got[j]![c]! - ref[k]![c]!;
        if (Number.isFinite(shift)) b[c] = b[c]! - shift;
      }
    });
  }
  return {
    biases,
    sites: sites.map((s) => {
      const a = original.get(s.output)!, b = biases.get(s.output)!;
      let sum = 0, max = 0;
      for (let c = 0; c < a.length; c++) { const d = Math.abs(b[c]! - a[c]!); sum += d; if (d > max) max = d; }
      return { node: s.node, opType: s.opType, channels: s.channels, meanAbsShift: sum / a.length, maxAbsShift: max };
    }),
    samples: use.length,
    iterations,
    inferences,
  };
}

/**
 * The float model with the given biases (by site output name) written as new initializers; the
 * sites' nodes read them. Sites not in `biases` and every tensor name stay as they were.
 */
export function applyBiasCorrection(work: OnnxModel, biases: ReadonlyMap<string, Float32Array>): OnnxModel {
  if (!biases.size) return work;
  const g = work.graph!;
  const names = new NameScope(g);
  const sites = new Map(findBiasSites(work).map((s) => [s.node, s]));
  const inits: OnnxTensor[] = [];
  const node = g.node.map((n) => {
    const s = n.output[0] ? sites.get(n.output[0]) : undefined;
    const b = s ? biases.get(s.output) : undefined;
    if (!s || !b || b.length !== s.channels) return n;
    const name = names.fresh(`${s.bias}_bias_corrected`);
    inits.push(makeFloatTensor(name, [b.length], b));
    return { ...n, input: n.input.map((x, i) => (i === s.biasInput ? name : x)) };
  });
  return { ...work, graph: { ...g, node, initializer: [...g.initializer, ...inits] } };
}
