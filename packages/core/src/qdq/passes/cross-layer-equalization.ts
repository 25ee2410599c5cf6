import { attrInt, type OnnxModel, type OnnxNode } from '../../onnx/model';
import type { SessionSettings } from '../../runner/session';
import type { FeedTensor } from '../../tensor';
import type { CalibrationTable } from '../../table';
import { Constants } from '../constants';
import { measureChannelRanges, type ChannelRange, type ChannelTensor } from './channel-stats';
import { replaceNodeInputs, rescaledRange, withRanges } from './rescale';

/**
 * Activations f with f(s·x) = s·f(x) for every s > 0, per channel: the only ones equalization may
 * pass through. Relu6/Clip (a fixed bound), HardSwish, HardSigmoid, Sigmoid, Swish, GELU are not:
 * hswish(s·x) = s·x·relu6(s·x + 3)/6 ≠ s·hswish(x) — no exact rescaling exists across them.
 */
export const SCALE_EQUIVARIANT = new Set(['Relu', 'PRelu', 'LeakyRelu']);

export interface CrossLayerEqualizationOptions {
  /** Sweeps over the pairs (default 20; stops earlier when every factor is within 1e-4 of 1). */
  iterations?: number;
  /** Calibration samples measured to rescale the table's ranges (default 16). */
  samples?: number;
  /**
   * Balance the measured activation ranges between the layers against the second layer's input
   * weights, instead of the first layer's output weights (default false). With per-channel weights
   * (qcal's default) the first layer's scale per channel absorbs any rescaling; what equalization
   * can still even out is the per-tensor activation grid between the layers — PPQ's
   * LayerwiseEqualization with including_act, NNCF's SmoothQuant on convolutions at α = 0.5.
   */
  activations?: boolean;
  session?: SessionSettings;
}

/** One side of a pair: a node with a constant weight (and bias), the axis of the weight that is the shared channel. */
export interface CleLayer {
  /** First output of the node (its key across model copies). */
  readonly key: string;
  readonly opType: string;
  readonly weight: string;
  /** The weight axis indexing the shared channel (output channel of the first layer, input channel of the second). */
  readonly axis: number;
  /** First layer only: its bias, and which node input holds it (the Add after a MatMul for MatMul+Add). */
  readonly bias?: { name: string; key: string; input: number };
}

export interface ClePair {
  readonly first: CleLayer;
  readonly second: CleLayer;
  /** The activation between them, when there is one (Relu, PRelu, LeakyRelu). */
  readonly activation?: string;
  readonly channels: number;
  /** The tensors between the two layers whose channels get divided by s (first output, activation output). */
  readonly tensors: readonly ChannelTensor[];
}

const isStd = (n: OnnxNode): boolean => !n.domain || n.domain === 'ai.onnx';

/**
 * Consecutive weighted layers whose shared channels can be rescaled exactly (Nagel et al. 2019,
 * §4.1): first = Conv (any group count: output channel = weight row), ConvTranspose (group 1),
 * Gemm, or MatMul (+ Add of a per-channel constant); then nothing or one scale-equivariant
 * activation (see SCALE_EQUIVARIANT); then second = Conv with group 1 or depthwise (group = channels,
 * one input channel per group), ConvTranspose (group 1), Gemm or MatMul, reading the shared tensor
 * as its data input. Every tensor in between feeds only the next node and is no graph output.
 */
export function findClePairs(model: OnnxModel): ClePair[] {
  const g = model.graph!;
  const consts = new Constants(g);
  const consumers = new Map<string, OnnxNode[]>();
  // Shape/Size read only the shape, which rescaling keeps.
  for (const n of g.node) if (n.opType !== 'Shape' && n.opType !== 'Size') for (const i of n.input) if (i) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const outputs = new Set(g.output.map((o) => o.name));
  const only = (t: string): OnnxNode | undefined => { const c = consumers.get(t); return c?.length === 1 && !outputs.has(t) ? c[0] : undefined; };
  const pairs: ClePair[] = [];
  for (const n of g.node) {
    if (!isStd(n) || !n.output[0]) continue;
    const w = consts.get(n.input[1] ?? '');
    if (!w || (n.opType !== 'MatMul' && n.input[0] && consts.isFloat(n.input[0]))) continue;
    let axis: number, channels: number, layout: ChannelTensor['layout'];
    let y = n.output[0];
    let bias: CleLayer['bias'];
    if (n.opType === 'Conv') {
      axis = 0; layout = { kind: 'conv', rank: w.dims.length };
      if (n.input[2]) { if (!consts.get(n.input[2])) continue; bias = { name: n.input[2], key: y, input: 2 }; }
    } else if (n.opType === 'ConvTranspose' && attrInt(n, 'group', 1) === 1) {
      axis = 1; layout = { kind: 'conv', rank: w.dims.length };
      if (n.input[2]) { if (!consts.get(n.input[2])) continue; bias = { name: n.input[2], key: y, input: 2 }; }
    } else if (n.opType === 'Gemm' && w.dims.length === 2 && attrInt(n, 'transA', 0) === 0) {
      axis = attrInt(n, 'transB', 0) ? 0 : 1; layout = { kind: 'last' };
      if (n.input[2]) {
        const c = consts.get(n.input[2]);
        if (!c || c.dims.length !== 1 || c.values.length !== w.dims[axis]) continue;
        bias = { name: n.input[2], key: y, input: 2 };
      }
    } else if (n.opType === 'MatMul' && w.dims.length === 2) {
      axis = 1; layout = { kind: 'last' };
      const add = only(y);
      const k = add && isStd(add) && add.opType === 'Add' ? (add.input[0] === y ? 1 : 0) : -1;
      const c = k >= 0 ? consts.get(add!.input[k] ?? '') : undefined;
      if (c && add!.input[1 - k] === y && c.values.length === w.dims[1] && c.dims.every((d, i) => i === c.dims.length - 1 || d === 1)) {
        bias = { name: add!.input[k]!, key: add!.output[0]!, input: k };
        y = add!.output[0]!;
      }
    } else continue;
    channels = w.dims[axis]!;
    const tensors: ChannelTensor[] = [{ name: y, channels, layout }];
    let next = only(y);
    let activation: string | undefined;
    if (next && isStd(next) && SCALE_EQUIVARIANT.has(next.opType) && next.input[0] === y && next.output[0]) {
      activation = next.opType;
      tensors.push({ name: next.output[0], channels, layout });
      next = only(next.output[0]);
    }
    const x = tensors[tensors.length - 1]!.name;
    if (!next || !isStd(next) || next.input[0] !== x || !next.output[0]) continue;
    const w2 = consts.get(next.input[1] ?? '');
    if (!w2 || next.input.indexOf(x, 1) >= 0) continue;
    let axis2 = -1;
    if (next.opType === 'Conv' && layout.kind === 'conv' && w2.dims.length === w.dims.length) {
      const group = attrInt(next, 'group', 1);
      if (group === 1 && w2.dims[1] === channels) axis2 = 1;
      else if (group === channels && w2.dims[0] === channels && w2.dims[1] === 1) axis2 = 0;
    } else if (next.opType === 'ConvTranspose' && layout.kind === 'conv' && attrInt(next, 'group', 1) === 1 && w2.dims[0] === channels) axis2 = 0;
    else if (next.opType === 'Gemm' && layout.kind === 'last' && w2.dims.length === 2 && attrInt(next, 'transA', 0) === 0) axis2 = attrInt(next, 'transB', 0) ? 1 : 0;
    else if (next.opType === 'MatMul' && layout.kind === 'last' && w2.dims.length === 2) axis2 = 0;
    if (axis2 < 0 || w2.dims[axis2] !== channels) continue;
    pairs.push({
      first: { key: n.output[0], opType: n.opType, weight: n.input[1]!, axis, ...(bias ? { bias } : {}) },
      second: { key: next.output[0], opType: next.opType, weight: next.input[1]!, axis: axis2 },
      ...(activation ? { activation } : {}),
      channels,
      tensors,
    });
  }
  return pairs;
}

/** Per-channel max |w| along `axis` of a tensor of `dims`. */
export function channelAbsMax(values: Float32Array, dims: readonly number[], axis: number): Float64Array {
  const c = dims[axis]!;
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const m = new Float64Array(c);
  for (let i = 0; i < values.length; i++) {
    const ch = Math.floor(i / inner) % c;
    const v = Math.abs(values[i]!);
    if (v > m[ch]!) m[ch] = v;
  }
  return m;
}

/** `values` with every element of channel ch (along `axis`) multiplied by f[ch]. */
function scaleChannels(values: Float32Array, dims: readonly number[], axis: number, f: ArrayLike<number>): Float32Array {
  const c = dims[axis]!;
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  return Float32Array.from(values, (v, i) => v * f[Math.floor(i / inner) % c]!);
}

/**
 * Equalization factors of one pair (Nagel et al. 2019, eq. 9): s_i = sqrt(r1_i / r2_i) with r1_i
 * the range (max |w|) of the first layer's output channel i and r2_i that of the second layer's
 * input channel i; dividing the first by s_i and multiplying the second by s_i gives both the
 * range sqrt(r1_i·r2_i). A channel with a zero, NaN or infinite range keeps s = 1.
 */
export function equalizationFactors(r1: ArrayLike<number>, r2: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: r1.length }, (_, i) => (r1[i]! > 0 && r2[i]! > 0 && Number.isFinite(r1[i]!) && Number.isFinite(r2[i]!) ? Math.sqrt(r1[i]! / r2[i]!) : 1));
}

export interface CleResult {
  model: OnnxModel;
  table: CalibrationTable;
  pairs: { first: string; second: string; activation: string; channels: number; rangeRatioBefore: number; rangeRatioAfter: number }[];
  iterations: number;
  samples: number;
}

/**
 * Cross-layer equalization as a QDQ pass: finds the pairs (see findClePairs), equalizes them in
 * sweeps until the factors settle (a layer in two pairs — the middle of conv → depthwise → conv —
 * is balanced against both), writes the rescaled weights and biases, and rescales the table
 * ranges of the tensors between the layers from their per-channel ranges measured on calibration
 * samples (see rescaledRange). Without samples the pass changes nothing (the table would no
 * longer fit the model).
 */
export async function crossLayerEqualization(work: OnnxModel, table: CalibrationTable, feeds: readonly Readonly<Record<string, FeedTensor>>[], opts: CrossLayerEqualizationOptions = {}): Promise<CleResult> {
  const use = feeds.slice(0, opts.samples ?? 16);
  const pairs = findClePairs(work);
  if (!pairs.length || !use.length) return { model: work, table, pairs: [], iterations: 0, samples: use.length };
  const tensors = pairs.flatMap((p) => p.tensors).filter((t) => opts.activations || table.tensors[t.name]);
  const ranges = await measureChannelRanges(work, tensors, use, 'cross-layer equalization (FP32 channel ranges)', opts.session);
  return applyCrossLayerEqualization(work, table, pairs, ranges, opts.iterations ?? 20, use.length, opts.activations ?? false);
}

/** The rewrite of {@link crossLayerEqualization} from measured per-channel ranges (pure; exported for tests). */
export function applyCrossLayerEqualization(work: OnnxModel, table: CalibrationTable, pairs: readonly ClePair[], ranges: ReadonlyMap<string, ChannelRange>, iterations = 20, samples = 0, activations = false): CleResult {
  const consts = new Constants(work.graph!);
  // Current weights by node key (a node can be the second layer of one pair and the first of the next).
  const weights = new Map<string, { name: string; dims: readonly number[]; values: Float32Array }>();
  const biases = new Map<string, { name: string; key: string; input: number; dims: readonly number[]; values: Float32Array }>();
  const weightOf = (l: CleLayer) => {
    let w = weights.get(l.key);
    if (!w) { const c = consts.get(l.weight)!; w = { name: l.weight, dims: c.dims, values: Float32Array.from(c.values) }; weights.set(l.key, w); }
    return w;
  };
  for (const p of pairs) if (p.first.bias && !biases.has(p.first.bias.key)) {
    const c = consts.get(p.first.bias.name)!;
    biases.set(p.first.bias.key, { ...p.first.bias, dims: c.dims, values: Float32Array.from(c.values) });
  }
  const ratio = (p: ClePair): number => {
    const a = channelAbsMax(weightOf(p.first).values, weightOf(p.first).dims, p.first.axis), b = channelAbsMax(weightOf(p.second).values, weightOf(p.second).dims, p.second.axis);
    let worst = 1;
    for (let i = 0; i < a.length; i++) if (a[i]! > 0 && b[i]! > 0) worst = Math.max(worst, a[i]! / b[i]!, b[i]! / a[i]!);
    return worst;
  };
  const before = pairs.map(ratio);
  const total = pairs.map((p) => new Float64Array(p.channels).fill(1));
  // Data-aware: the measured |activation| range per channel of the second layer's input (divided by the factors so far).
  const act = pairs.map((p) => {
    const r = activations ? ranges.get(p.tensors[p.tensors.length - 1]!.name) : undefined;
    return r ? Float64Array.from(r.min, (lo, i) => (Number.isFinite(lo) ? Math.max(Math.abs(lo), Math.abs(r.max[i]!)) : 0)) : undefined;
  });
  let it = 0;
  for (; it < iterations; it++) {
    let moved = 0;
    pairs.forEach((p, k) => {
      const w1 = weightOf(p.first), w2 = weightOf(p.second);
      const a = act[k];
      const r1 = a ? a.map((v, i) => v / total[k]![i]!) : channelAbsMax(w1.values, w1.dims, p.first.axis);
      const s = equalizationFactors(r1, channelAbsMax(w2.values, w2.dims, p.second.axis));
      for (const v of s) moved = Math.max(moved, Math.abs(v - 1));
      w1.values = scaleChannels(w1.values, w1.dims, p.first.axis, s.map((v) => 1 / v));
      w2.values = scaleChannels(w2.values, w2.dims, p.second.axis, s);
      const b = p.first.bias ? biases.get(p.first.bias.key)! : undefined;
      if (b) b.values = b.values.length === p.channels ? Float32Array.from(b.values, (v, i) => v / s[i]!) : b.values;
      const t = total[k]!;
      for (let i = 0; i < t.length; i++) t[i] = t[i]! * s[i]!;
    });
    if (moved < 1e-4) { it++; break; }
  }
  const values = new Map<string, { dims: readonly number[]; values: Float32Array; base: string }>();
  for (const [key, w] of weights) values.set(`${key}#1`, { dims: w.dims, values: w.values, base: `${w.name}_equalized` });
  for (const [key, b] of biases) values.set(`${key}#${b.input}`, { dims: b.dims, values: b.values, base: `${b.name}_equalized` });
  const newRanges = new Map<string, { min: number; max: number }>();
  pairs.forEach((p, k) => {
    const inv = total[k]!.map((v) => 1 / v);
    for (const t of p.tensors) {
      const e = table.tensors[t.name], r = ranges.get(t.name);
      if (e && r) newRanges.set(t.name, rescaledRange(e, r, inv));
    }
  });
  return {
    model: replaceNodeInputs(work, values),
    table: withRanges(table, newRanges),
    pairs: pairs.map((p, k) => ({ first: p.first.key, second: p.second.key, activation: p.activation ?? 'none', channels: p.channels, rangeRatioBefore: before[k]!, rangeRatioAfter: ratio(p) })),
    iterations: it,
    samples,
  };
}
