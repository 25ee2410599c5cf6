import { attrFloat, type OnnxModel, type OnnxNode } from '../../onnx/model';
import { producersAndReaders } from '../../onnx/subgraphs';
import type { CalibrationTable } from '../../table';
import { Constants } from '../constants';

/** A closed interval; ±Infinity for an open side. */
export interface LiveInterval { readonly lo: number; readonly hi: number }

const ALL: LiveInterval = { lo: -Infinity, hi: Infinity };

/** One table range the pass narrowed. */
export interface SaturatedRange {
  tensor: string;
  /** The calibrated range and the range written. */
  from: [number, number];
  to: [number, number];
  /** The consumers' live interval (±Infinity: unbounded). */
  live: [number, number];
  /** The producer's value interval, when it bounds the output. */
  values?: [number, number];
}

/**
 * Live intervals of the main graph's tensors: for tensor t, an interval I such that every consumer
 * computes exactly the same values when t is clamped to I first (f(clamp(t, I)) = f(t)), so the
 * part of a calibrated range outside I only wastes quantization levels. Union over consumers, and
 * only bounded when EVERY consumer saturates; a graph output, a tensor read by an If/Loop/Scan
 * body or by any other op is unbounded. Consumers that saturate:
 * - Relu: [0, ∞); Clip with constant bounds: [min, max]; HardSigmoid(α>0, β): [−β/α, (1−β)/α];
 *   HardSwish: [−3, ∞) (x·relu6(x+3)/6 is 0 below −3, linear above 3);
 * - Add/Sub of a one-value constant, Mul/Div by a one-value non-zero constant: the output's live
 *   interval mapped back (so x+3 → Clip(0, 6) gives x [−3, 3]);
 * - Mul(t, g) where the gate g is 0 whenever t ≤ a (g = Clip(t+k, 0, ·), Relu(t+k), HardSigmoid(t),
 *   or such a gate scaled by a positive constant): [a, ∞) — the decomposed HardSwish of
 *   paddle2onnx exports (Add → Clip(0, 6) → Mul → Div) and x·HardSigmoid(x) of PyTorch's.
 * Nodes are visited in reverse graph order (consumers before producers). Pure: no I/O. The model
 * is expected at opset >= 11 (Clip bounds as inputs); older Clip attributes are read too.
 */
export function liveIntervals(model: OnnxModel): Map<string, LiveInterval> {
  const g = model.graph!;
  const consts = new Constants(g);
  const { producer, consumers } = producersAndReaders(g.node);
  const outputs = new Set(g.output.map((o) => o.name));
  const live = new Map<string, LiveInterval>();
  const scalar = scalarOf(consts);
  const liveOf = (name: string): LiveInterval => live.get(name) ?? ALL;
  const map = (r: LiveInterval, f: (x: number) => number): LiveInterval => {
    const a = f(r.lo), b = f(r.hi);
    return { lo: Math.min(a, b), hi: Math.max(a, b) };
  };
  /** a when gate `gName` is 0 whenever t <= a (the gate reads t), else undefined. */
  const zeroBelow = (gName: string, t: string): number | undefined => {
    const n = producer.get(gName);
    if (!n) return undefined;
    const src = n.input[0];
    const shift = (u: string | undefined): number | undefined => {
      if (u === t) return 0;
      const p = u ? producer.get(u) : undefined;
      if (!p || p.opType !== 'Add' || p.input.length !== 2) return undefined;
      const k = p.input[0] === t ? scalar(p.input[1]) : p.input[1] === t ? scalar(p.input[0]) : undefined;
      return k === undefined ? undefined : -k;
    };
    switch (n.opType) {
      case 'Relu': return shift(src);
      case 'Clip': return clipBounds(n, scalar).lo === 0 && clipBounds(n, scalar).hi >= 0 ? shift(src) : undefined;
      case 'HardSigmoid': {
        const a = attrFloat(n, 'alpha', 0.2), b = attrFloat(n, 'beta', 0.5);
        return src === t && a > 0 ? -b / a : undefined;
      }
      case 'Mul': case 'Div': {
        const [x, y] = n.input;
        const s = n.opType === 'Div' ? scalar(y) : scalar(y) ?? scalar(x);
        const inner = n.opType === 'Div' || scalar(y) !== undefined ? x : y;
        return s !== undefined && s > 0 && inner ? zeroBelow(inner, t) : undefined;
      }
      default: return undefined;
    }
  };
  const liveIn = (n: OnnxNode, t: string): LiveInterval => {
    if (!n.input.includes(t)) return ALL; // an outer-scope read of a subgraph
    const [x, y] = n.input;
    const out = n.output[0];
    switch (n.opType) {
      case 'Relu': return x === t ? { lo: 0, hi: Infinity } : ALL;
      case 'Clip': return x === t && n.input.indexOf(t, 1) < 0 ? clipBounds(n, scalar) : ALL;
      case 'HardSwish': return { lo: -3, hi: Infinity };
      case 'HardSigmoid': {
        const a = attrFloat(n, 'alpha', 0.2), b = attrFloat(n, 'beta', 0.5);
        return a > 0 ? { lo: -b / a, hi: (1 - b) / a } : ALL;
      }
      case 'Add': case 'Sub': case 'Mul': case 'Div': {
        if (x === y || !out) return ALL;
        const other = x === t ? y : x;
        const k = scalar(other);
        const r = liveOf(out);
        if (k !== undefined) {
          if (n.opType === 'Add') return map(r, (v) => v - k);
          if (n.opType === 'Sub') return x === t ? map(r, (v) => v + k) : map(r, (v) => k - v);
          if (n.opType === 'Mul' && k !== 0) return map(r, (v) => v / k);
          if (n.opType === 'Div' && x === t && k !== 0) return map(r, (v) => v * k);
          return ALL;
        }
        if (n.opType === 'Mul' && other) {
          const a = zeroBelow(other, t);
          if (a !== undefined) return { lo: a, hi: Infinity };
        }
        return ALL;
      }
      default: return ALL;
    }
  };
  for (let i = g.node.length - 1; i >= 0; i--) {
    for (const t of g.node[i]!.output) if (t) visit(t);
  }
  for (const i of g.input) visit(i.name);
  return live;

  function visit(t: string): void {
    const cs = consumers.get(t) ?? [];
    if (outputs.has(t) || !cs.length) return;
    let lo = Infinity, hi = -Infinity;
    for (const c of cs) {
      const r = liveIn(c, t);
      if (!(r.lo > -Infinity) && !(r.hi < Infinity)) return;
      lo = Math.min(lo, r.lo); hi = Math.max(hi, r.hi);
    }
    if (lo > -Infinity || hi < Infinity) live.set(t, { lo, hi });
  }
}

/** Ops whose outputs are values of (or convex combinations of) their first input's values. */
const HULL_OPS = new Set(['MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'ReduceMean', 'ReduceMax', 'ReduceMin',
  'Reshape', 'Transpose', 'Squeeze', 'Unsqueeze', 'Flatten', 'Slice', 'Gather', 'Split', 'Expand', 'Tile', 'Identity', 'DepthToSpace', 'SpaceToDepth']);

/**
 * Value intervals of the main graph's tensors that their producers guarantee whatever the input:
 * Relu [0, ∞), Clip [min, max], Sigmoid/HardSigmoid/Softmax [0, 1], HardSwish [−3/8, ∞),
 * x·Clip(x+k, 0, h) [−k²/4, ∞) (k > 0, h ≥ k/2; the decomposed HardSwish before its /6),
 * x·HardSigmoid(x) [−β²/4α, ∞), then through one-value Add/Sub/Mul/Div, pooling, reductions to a
 * mean/max/min, data movement and Concat (hull of the inputs). Only bounded entries are returned.
 * A symmetric collector (ifmr, entropy) gives such a tensor a range like [−257, 255] where no value
 * is below −2.25: half the 8-bit grid unused.
 */
export function valueIntervals(model: OnnxModel): Map<string, LiveInterval> {
  const g = model.graph!;
  const consts = new Constants(g);
  const producer = new Map<string, OnnxNode>();
  for (const n of g.node) for (const o of n.output) if (o) producer.set(o, n);
  const val = new Map<string, LiveInterval>();
  const scalar = scalarOf(consts);
  const of = (name: string | undefined): LiveInterval => (name ? val.get(name) ?? ALL : ALL);
  for (const n of g.node) {
    const [x, y] = n.input;
    let r: LiveInterval = ALL;
    switch (n.opType) {
      case 'Relu': r = { lo: Math.max(0, of(x).lo), hi: Math.max(0, of(x).hi) }; break;
      case 'Clip': { const b = clipBounds(n, scalar); r = { lo: Math.max(b.lo, of(x).lo), hi: Math.min(b.hi, of(x).hi) }; break; }
      case 'Sigmoid': case 'HardSigmoid': case 'Softmax': r = { lo: 0, hi: 1 }; break;
      case 'HardSwish': r = { lo: -3 / 8, hi: Infinity }; break;
      case 'Concat': { const rs = n.input.filter(Boolean).map(of); r = { lo: Math.min(...rs.map((v) => v.lo)), hi: Math.max(...rs.map((v) => v.hi)) }; break; }
      case 'Resize': r = ['nearest', 'linear'].includes(resizeMode(n)) ? of(x) : ALL; break;
      case 'Add': case 'Sub': case 'Mul': case 'Div': {
        const kx = scalar(x), ky = scalar(y);
        if (ky !== undefined && x !== undefined) {
          const v = of(x);
          r = n.opType === 'Add' ? shift(v, ky) : n.opType === 'Sub' ? shift(v, -ky) : n.opType === 'Mul' ? scale(v, ky) : ky !== 0 ? scale(v, 1 / ky) : ALL;
        } else if (kx !== undefined && y !== undefined && n.opType !== 'Div') {
          const v = of(y);
          r = n.opType === 'Add' ? shift(v, kx) : n.opType === 'Mul' ? scale(v, kx) : shift(scale(v, -1), kx);
        } else if (n.opType === 'Mul' && x && y) {
          const lo = gatedLow(x, y) ?? gatedLow(y, x);
          if (lo !== undefined) r = { lo, hi: Infinity };
        }
        break;
      }
      default: if (HULL_OPS.has(n.opType)) r = of(x);
    }
    if (n.output[0] && (r.lo > -Infinity || r.hi < Infinity)) val.set(n.output[0], r);
  }
  return val;

  /** min over t of t·gate(t) when `gate` is Clip(t+k, 0, h) (k > 0, h ≥ k/2) or HardSigmoid(t) / Relu6-like. */
  function gatedLow(t: string, gate: string): number | undefined {
    const n = producer.get(gate);
    if (!n) return undefined;
    if (n.opType === 'HardSigmoid' && n.input[0] === t) {
      const a = attrFloat(n, 'alpha', 0.2), b = attrFloat(n, 'beta', 0.5);
      return a > 0 && b >= 0 && (1 - b) / a >= -b / (2 * a) ? -(b * b) / (4 * a) : undefined;
    }
    if (n.opType !== 'Clip') return undefined;
    const c = clipBounds(n, scalar);
    const p = n.input[0] ? producer.get(n.input[0]) : undefined;
    if (c.lo !== 0 || !p || p.opType !== 'Add') return undefined;
    const k = p.input[0] === t ? scalar(p.input[1]) : p.input[1] === t ? scalar(p.input[0]) : undefined;
    return k !== undefined && k > 0 && c.hi >= k / 2 ? -(k * k) / 4 : undefined;
  }
}

const shift = (r: LiveInterval, k: number): LiveInterval => ({ lo: r.lo + k, hi: r.hi + k });
const scale = (r: LiveInterval, s: number): LiveInterval => {
  if (s === 0) return { lo: 0, hi: 0 };
  const a = r.lo * s, b = r.hi * s;
  return { lo: Number.isNaN(a) ? -Infinity : Math.min(a, b), hi: Number.isNaN(b) ? Infinity : Math.max(a, b) };
};
function resizeMode(n: OnnxNode): string {
  const a = (n.attribute ?? []).find((x) => x.name === 'mode');
  const s = a?.s;
  return s === undefined ? 'nearest' : typeof s === 'string' ? s : new TextDecoder().decode(s);
}

/** The one value of a float constant (a scalar, or every element equal), else undefined. */
export function scalarOf(consts: Constants): (name: string | undefined) => number | undefined {
  return (name) => {
    const c = name ? consts.get(name) : undefined;
    if (!c || !c.values.length) return undefined;
    const v = c.values[0]!;
    for (let i = 1; i < c.values.length; i++) if (c.values[i] !== v) return undefined;
    return Number.isFinite(v) ? v : undefined;
  };
}

/** Clip's constant bounds (inputs from opset 11, attributes before), ±∞ where absent; ALL when a bound is not constant. */
export function clipBounds(n: OnnxNode, scalar: (name: string | undefined) => number | undefined): LiveInterval {
  if (n.input.length <= 1 && (n.attribute ?? []).some((a) => a.name === 'min' || a.name === 'max')) {
    return { lo: attrFloat(n, 'min', -Infinity), hi: attrFloat(n, 'max', Infinity) };
  }
  const bound = (name: string | undefined, absent: number): number | undefined => (name ? scalar(name) : absent);
  const lo = bound(n.input[1], -Infinity), hi = bound(n.input[2], Infinity);
  return lo === undefined || hi === undefined ? ALL : { lo, hi };
}

/**
 * The table with every range narrowed to its tensor's live interval (see {@link liveIntervals}):
 * [max(min, lo), min(max, hi)]; a range entirely outside the interval becomes the nearest bound.
 * Exact for the model's outputs — only values the consumers ignore are given up — so it is a
 * default of the QDQ writer. Returns the new table (the input is not modified) and what changed.
 */
export function saturateRanges(model: OnnxModel, table: CalibrationTable): { table: CalibrationTable; saturated: SaturatedRange[] } {
  const live = liveIntervals(model);
  const values = valueIntervals(model);
  const saturated: SaturatedRange[] = [];
  const tensors = { ...table.tensors };
  for (const [name, e0] of Object.entries(table.tensors)) {
    const v = values.get(name);
    // What the producer can output bounds the range first (no margin needed: no value lies beyond).
    const e = v ? { ...e0, min: Math.min(Math.max(e0.min, v.lo), v.hi), max: Math.max(Math.min(e0.max, v.hi), v.lo) } : e0;
    const r = live.get(name) ?? ALL;
    if (!v && !live.has(name)) continue;
    let lo = Math.max(e.min, r.lo), hi = Math.min(e.max, r.hi);
    if (lo > hi) { if (e.max < r.lo) lo = hi = r.lo; else lo = hi = r.hi; }
    // A bound that is a saturation point must stay on or beyond the grid's end: the writer rounds
    // the zero point, which can move the grid's end up to half a step inside, and then every value
    // clamped there (often most of the tensor) reads as just-not-saturated — a systematic shift
    // (measured on the PP-OCRv4 detector: cosine 0.987 → 0.971 without this). One step of margin
    // (8-bit grid) on a non-zero bound keeps the end outside; 0 is always exact.
    const step = (Math.max(hi, 0) - Math.min(lo, 0)) / 254;
    if (lo > e.min && lo !== 0) lo = Math.max(e.min, lo - step);
    if (hi < e.max && hi !== 0) hi = Math.min(e.max, hi + step);
    if (lo === e0.min && hi === e0.max) continue;
    tensors[name] = { ...e0, min: lo, max: hi };
    saturated.push({ tensor: name, from: [e0.min, e0.max], to: [lo, hi], live: [r.lo, r.hi], ...(v ? { values: [v.lo, v.hi] as [number, number] } : {}) });
  }
  return { table: saturated.length ? { ...table, tensors } : table, saturated };
}
