import { attrInt, makeFloatTensor, type OnnxModel, type OnnxNode } from '../../onnx/model';
import { NameScope, makeNode } from '../../onnx/graph-builder';
import type { SessionSettings } from '../../runner/session';
import type { FeedTensor } from '../../tensor';
import type { CalibrationTable } from '../../table';
import { Constants } from '../constants';
import { measureChannelRanges, type ChannelRange } from './channel-stats';
import { replaceNodeInputs, rescaledRange, withRanges } from './rescale';

export interface SmoothQuantOptions {
  /** Migration strength α in [0, 1] (default 0.5, the paper's and onnxruntime's default). */
  alpha?: number;
  /**
   * Also smooth inputs whose producer cannot absorb 1/s (default false): a float Mul by 1/s is
   * inserted before the MatMuls (it runs unquantized: costs latency).
   */
  insertMul?: boolean;
  /** Calibration samples measured (default 16; the first ones of the feeds). */
  samples?: number;
  session?: SessionSettings;
}

/** A MatMul/Gemm reading the smoothed activation as its left operand, with a constant 2-D weight. */
export interface SmoothConsumer {
  /** First output of the node (its key across model copies). */
  readonly key: string;
  readonly opType: 'MatMul' | 'Gemm';
  readonly weight: string;
  /** true: the weight's rows are the input channels ([K, N]); false: its columns (Gemm transB=1). */
  readonly rowsAreInput: boolean;
}

/** Where 1/s goes: the preceding LayerNormalization's scale and bias, a Mul(γ)→Add(β) tail, or a new Mul. */
export type SmoothFold =
  | { kind: 'LayerNormalization'; key: string; scale: string; bias?: string }
  | { kind: 'Mul+Add'; mulKey: string; gammaInput: number; gamma: string; addKey: string; betaInput: number; beta: string }
  | { kind: 'insert'; producerKey: string; outputIndex: number };

export interface SmoothSite {
  /** The activation smoothed (last axis = the MatMuls' input channels). */
  readonly input: string;
  readonly channels: number;
  readonly consumers: readonly SmoothConsumer[];
  readonly fold: SmoothFold;
  /** Other tensors whose channels get divided by s too (the Mul output of a Mul→Add tail): their ranges are rescaled. */
  readonly scaled: readonly string[];
}

const isStd = (n: OnnxNode): boolean => !n.domain || n.domain === 'ai.onnx';

/** A constant that broadcasts along the last axis only: K values, every other dim 1. */
function lastAxisVector(consts: Constants, name: string | undefined, k: number): boolean {
  const c = name ? consts.get(name) : undefined;
  return !!c && c.values.length === k && c.dims.length >= 1 && c.dims[c.dims.length - 1] === k;
}

/**
 * Activations SmoothQuant can smooth: every consumer is a MatMul (the activation as input A, a
 * constant 2-D weight [K, N]) or a Gemm (transA 0, constant B), the activation is no graph
 * output, and 1/s can be folded into its producer — a LayerNormalization over the last axis with
 * constant scale (and bias), or a Mul(·, γ) → Add(·, β) with constant per-channel γ, β (a
 * LayerNorm as paddle2onnx writes it) whose Mul feeds only the Add — or, with `insertMul`, any
 * producing node (1/s becomes a Mul after it).
 */
export function findSmoothSites(model: OnnxModel, insertMul = false): SmoothSite[] {
  const g = model.graph!;
  const consts = new Constants(g);
  const consumers = new Map<string, OnnxNode[]>();
  // Shape/Size read only the shape, which smoothing keeps.
  for (const n of g.node) if (n.opType !== 'Shape' && n.opType !== 'Size') for (const i of n.input) if (i) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const producer = new Map<string, OnnxNode>();
  for (const n of g.node) for (const o of n.output) if (o) producer.set(o, n);
  const outputs = new Set(g.output.map((o) => o.name));
  const sites: SmoothSite[] = [];
  for (const [x, users] of consumers) {
    if (consts.isFloat(x) || outputs.has(x) || !producer.has(x)) continue;
    let k = -1;
    const cs: SmoothConsumer[] = [];
    for (const n of users) {
      if (!isStd(n) || n.input[0] !== x || n.input.indexOf(x, 1) >= 0) break;
      const w = consts.get(n.input[1] ?? '');
      if (!w || w.dims.length !== 2 || !n.output[0]) break;
      let rows: boolean;
      if (n.opType === 'MatMul') rows = true;
      else if (n.opType === 'Gemm' && attrInt(n, 'transA', 0) === 0) rows = attrInt(n, 'transB', 0) === 0;
      else break;
      const kk = rows ? w.dims[0]! : w.dims[1]!;
      if (k >= 0 && kk !== k) break;
      k = kk;
      cs.push({ key: n.output[0], opType: n.opType as 'MatMul' | 'Gemm', weight: n.input[1]!, rowsAreInput: rows });
    }
    if (cs.length !== users.length || k <= 0) continue;
    const p = producer.get(x)!;
    let fold: SmoothFold | undefined;
    const scaled: string[] = [];
    if (isStd(p) && p.opType === 'LayerNormalization' && p.output[0] === x && attrInt(p, 'axis', -1) === -1
      && lastAxisVector(consts, p.input[1], k) && (!p.input[2] || lastAxisVector(consts, p.input[2], k))) {
      fold = { kind: 'LayerNormalization', key: x, scale: p.input[1]!, ...(p.input[2] ? { bias: p.input[2] } : {}) };
    } else if (isStd(p) && p.opType === 'Add') {
      const bi = lastAxisVector(consts, p.input[1], k) ? 1 : lastAxisVector(consts, p.input[0], k) ? 0 : -1;
      const t = bi >= 0 ? p.input[1 - bi] : undefined;
      const m = t ? producer.get(t) : undefined;
      if (m && t && isStd(m) && m.opType === 'Mul' && m.output[0] && consumers.get(t)?.length === 1 && !outputs.has(t)) {
        const gi = lastAxisVector(consts, m.input[1], k) ? 1 : lastAxisVector(consts, m.input[0], k) ? 0 : -1;
        if (gi >= 0 && !consts.isFloat(m.input[1 - gi] ?? '')) {
          fold = { kind: 'Mul+Add', mulKey: m.output[0], gammaInput: gi, gamma: m.input[gi]!, addKey: x, betaInput: bi, beta: p.input[bi]! };
          scaled.push(t);
        }
      }
    }
    if (!fold && insertMul && p.output[0]) fold = { kind: 'insert', producerKey: p.output[0], outputIndex: p.output.indexOf(x) };
    if (fold) sites.push({ input: x, channels: k, consumers: cs, fold, scaled });
  }
  return sites;
}

/**
 * Smoothing factors s_j = max|X_j|^α / max|W_j|^(1−α) (Xiao et al. 2022, eq. 4), max|W_j| over
 * row j of every consumer's weight; both maxima floored at 1e-5 as the authors' code does. A
 * channel never seen or all zero keeps s = 1.
 */
export function smoothingFactors(actAbsMax: ArrayLike<number>, weightAbsMax: ArrayLike<number>, alpha: number): Float64Array {
  const s = new Float64Array(actAbsMax.length);
  for (let j = 0; j < s.length; j++) {
    const a = actAbsMax[j]!, w = weightAbsMax[j]!;
    s[j] = Number.isFinite(a) && Number.isFinite(w) && a > 0 && w > 0 ? Math.max(a, 1e-5) ** alpha / Math.max(w, 1e-5) ** (1 - alpha) : 1;
  }
  return s;
}

/** max|W_j| over the input-channel rows of every consumer weight. */
function weightAbsMax(consts: Constants, site: SmoothSite): Float64Array {
  const m = new Float64Array(site.channels);
  for (const c of site.consumers) {
    const w = consts.get(c.weight)!;
    const [r, cols] = [w.dims[0]!, w.dims[1]!];
    for (let i = 0; i < r; i++) for (let j = 0; j < cols; j++) {
      const ch = c.rowsAreInput ? i : j;
      const v = Math.abs(w.values[i * cols + j]!);
      if (v > m[ch]!) m[ch] = v;
    }
  }
  return m;
}

export interface SmoothQuantResult {
  /** The float model with smoothing applied (same tensor names; new initializers, maybe new Mul nodes). */
  model: OnnxModel;
  /** The table with the smoothed activations' ranges rescaled. */
  table: CalibrationTable;
  sites: { input: string; fold: SmoothFold['kind']; consumers: number; channels: number; maxFactor: number; minFactor: number }[];
  samples: number;
}

/**
 * SmoothQuant (Xiao et al. 2022) as a QDQ pass: for every site (see findSmoothSites) it measures
 * the per-channel range of the activation on calibration samples (FP32), computes s (see
 * smoothingFactors), multiplies row j of the consumers' weights by s_j and divides channel j of
 * the activation by s_j where it is produced (LayerNorm scale and bias, γ and β, or an inserted
 * Mul), so the float model computes the same function. The activation's table range is rescaled
 * (see rescaledRange) instead of calibrating again.
 */
export async function smoothQuant(work: OnnxModel, table: CalibrationTable, feeds: readonly Readonly<Record<string, FeedTensor>>[], opts: SmoothQuantOptions = {}): Promise<SmoothQuantResult> {
  const alpha = opts.alpha ?? 0.5;
  if (!(alpha >= 0 && alpha <= 1)) throw new RangeError(`smoothQuant.alpha must be in [0, 1], got ${alpha}`);
  const use = feeds.slice(0, opts.samples ?? 16);
  const sites = findSmoothSites(work, opts.insertMul ?? false);
  if (!sites.length || !use.length) return { model: work, table, sites: [], samples: use.length };
  const measured = sites.flatMap((s) => [s.input, ...s.scaled].map((name) => ({ name, channels: s.channels, layout: { kind: 'last' as const } })));
  const ranges = await measureChannelRanges(work, measured, use, 'SmoothQuant (FP32 channel ranges)', opts.session);
  return applySmoothQuant(work, table, sites, ranges, alpha, use.length);
}

/** The rewrite of {@link smoothQuant} from measured per-channel ranges (pure; exported for tests). */
export function applySmoothQuant(work: OnnxModel, table: CalibrationTable, sites: readonly SmoothSite[], ranges: ReadonlyMap<string, ChannelRange>, alpha: number, samples = 0): SmoothQuantResult {
  const consts = new Constants(work.graph!);
  const values = new Map<string, { dims: readonly number[]; values: Float32Array; base: string }>();
  const inserts = new Map<string, { site: SmoothSite; inv: Float32Array }>();
  const newRanges = new Map<string, { min: number; max: number }>();
  const report: SmoothQuantResult['sites'] = [];
  for (const site of sites) {
    const r = ranges.get(site.input);
    if (!r) continue;
    const act = Float64Array.from(r.min, (lo, j) => Math.max(Math.abs(lo), Math.abs(r.max[j]!)));
    const s = smoothingFactors(act, weightAbsMax(consts, site), alpha);
    const inv = Float32Array.from(s, (v) => 1 / v);
    for (const c of site.consumers) {
      const w = consts.get(c.weight)!;
      const cols = w.dims[1]!;
      values.set(`${c.key}#1`, { dims: w.dims, base: `${c.weight}_smoothed`, values: Float32Array.from(w.values, (v, i) => v * s[c.rowsAreInput ? Math.floor(i / cols) : i % cols]!) });
    }
    const scaled = (name: string) => { const c = consts.get(name)!; return { dims: c.dims, values: Float32Array.from(c.values, (v, i) => v * inv[i]!), base: `${name}_smoothed` }; };
    const f = site.fold;
    if (f.kind === 'LayerNormalization') {
      values.set(`${f.key}#1`, scaled(f.scale));
      if (f.bias) values.set(`${f.key}#2`, scaled(f.bias));
    } else if (f.kind === 'Mul+Add') {
      values.set(`${f.mulKey}#${f.gammaInput}`, scaled(f.gamma));
      values.set(`${f.addKey}#${f.betaInput}`, scaled(f.beta));
    } else inserts.set(f.producerKey, { site, inv });
    for (const t of [site.input, ...site.scaled]) {
      const e = table.tensors[t], tr = ranges.get(t);
      if (e && tr) newRanges.set(t, rescaledRange(e, tr, inv));
    }
    let lo = Infinity, hi = 0;
    for (const v of s) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    report.push({ input: site.input, fold: f.kind, consumers: site.consumers.length, channels: site.channels, maxFactor: hi, minFactor: lo });
  }
  let model = replaceNodeInputs(work, values);
  if (inserts.size) model = insertMuls(model, inserts);
  return { model, table: withRanges(table, newRanges), sites: report, samples };
}

/** The producer writes `<x>_unsmoothed`; a Mul by 1/s turns it into `x` (name kept for the table). */
function insertMuls(model: OnnxModel, inserts: ReadonlyMap<string, { site: SmoothSite; inv: Float32Array }>): OnnxModel {
  const g = model.graph!;
  const names = new NameScope(g);
  const node: OnnxNode[] = [];
  const inits = [...g.initializer];
  for (const n of g.node) {
    const ins = inserts.get(n.output[0] ?? '');
    if (!ins || ins.site.fold.kind !== 'insert') { node.push(n); continue; }
    const x = ins.site.input;
    const raw = names.fresh(`${x}_unsmoothed`), c = names.fresh(`${x}_smooth_inv`);
    const output = [...n.output];
    output[ins.site.fold.outputIndex] = raw;
    node.push({ ...n, output });
    inits.push(makeFloatTensor(c, [ins.inv.length], ins.inv));
    node.push(makeNode('Mul', [raw, c], [x], names.fresh(`${x}_SmoothQuant_Mul`)));
  }
  return { ...model, graph: { ...g, node, initializer: inits } };
}
