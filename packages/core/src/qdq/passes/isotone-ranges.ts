import { attrInt, encodeModel, opsetVersion, type OnnxModel, type OnnxNode, type OnnxTensor } from '../../onnx/model';
import { NameScope, int64Vector, intAttr, makeNode } from '../../onnx/graph-builder';
import { createSession, runBatch, type SessionSettings } from '../../runner/session';
import type { FeedTensor } from '../../tensor';
import type { CalibrationTable } from '../../table';
import { withRanges } from './rescale';

export interface IsotoneOptions {
  /** Calibration samples measured (default 16). */
  samples?: number;
  session?: SessionSettings;
}

/**
 * Tensors whose only use that matters is the order along the last axis: the input of a Softmax
 * over the last axis whose output is a graph output (a classifier's or a CTC head's
 * probabilities, decoded by argmax), and the input of an ArgMax over the last axis.
 */
export function findIsotoneTensors(model: OnnxModel): string[] {
  const g = model.graph!;
  const outputs = new Set(g.output.map((o) => o.name));
  const opset = opsetVersion(model);
  const found = new Set<string>();
  for (const n of g.node) {
    if (n.domain && n.domain !== 'ai.onnx') continue;
    const x = n.input[0];
    if (!x) continue;
    // Softmax before opset 13 flattens from `axis` (default 1): the last axis only for 2-D inputs; accept axis -1 only.
    const softmax = n.opType === 'Softmax' && attrInt(n, 'axis', opset >= 13 ? -1 : 1) === -1 && outputs.has(n.output[0] ?? '');
    const argmax = n.opType === 'ArgMax' && attrInt(n, 'axis', 0) === -1;
    if (softmax || argmax) found.add(x);
  }
  return [...found];
}

/** The model with, per tensor, its two largest values along the last axis as rows of 2 (TopK in the graph). */
function withTop2(model: OnnxModel, tensors: readonly string[]): { model: OnnxModel; outputs: string[] } {
  const g = model.graph!;
  const names = new NameScope(g);
  const nodes: OnnxNode[] = [];
  const inits: OnnxTensor[] = [];
  const k = names.fresh('qcal_isotone_k');
  inits.push(int64Vector(k, [2]));
  const outputs = tensors.map((t) => {
    const v = names.fresh(`${t}_qcal_top2`), i = names.fresh(`${t}_qcal_top2_index`);
    nodes.push(makeNode('TopK', [t, k], [v, i], names.fresh(`${t}_qcal_TopK`), [intAttr('axis', -1)]));
    return v;
  });
  const info = outputs.map((name) => ({ name, type: { tensorType: { elemType: 1 } } }));
  return { model: { ...model, graph: { ...g, node: [...g.node, ...nodes], initializer: [...g.initializer, ...inits], output: [...g.output, ...info] } }, outputs };
}

/**
 * An order-preserving range (PPQ's isotone calibration): with the grid over [min(lo, 0), hi] in 255
 * steps, row r keeps its top-1 when its second largest value L2 is not clipped (lo ≤ L2 ≤ hi) and
 * the gap L1 − L2 is at least half a step. Candidates: hi ∈ {every L2, the collector's hi}, lo ∈
 * {the collector's lo, the smallest L2} (values below every row's top-2 do not decide any argmax);
 * the pair that keeps the most rows wins, ties going to the widest range (the least clipping of
 * everything else). Rows with non-finite values are ignored.
 */
export function isotoneRange(top1: ArrayLike<number>, top2: ArrayLike<number>, lo: number, hi: number, levels = 255): { min: number; max: number; kept: number; keptBefore: number; rows: number } {
  const rows: [number, number][] = [];
  let lowest = Infinity;
  for (let r = 0; r < top1.length; r++) {
    if (!Number.isFinite(top1[r]!) || !Number.isFinite(top2[r]!)) continue;
    rows.push([top1[r]!, top2[r]!]);
    lowest = Math.min(lowest, top2[r]!);
  }
  const count = (a: number, b: number): number => {
    const half = (b - Math.min(a, 0)) / levels / 2;
    let n = 0;
    for (const [x, y] of rows) if (y <= b && y >= a && x - y >= half) n++;
    return n;
  };
  const keptBefore = count(lo, hi);
  let best = { min: lo, max: hi, kept: keptBefore };
  const los = Number.isFinite(lowest) && lowest > lo ? [lo, lowest] : [lo];
  for (const a of los) for (const b of [hi, ...rows.map((r) => r[1])]) {
    if (b < a) continue;
    const n = count(a, b);
    if (n > best.kept || (n === best.kept && b - a > best.max - best.min)) best = { min: a, max: b, kept: n };
  }
  return { ...best, keptBefore, rows: rows.length };
}

export interface IsotoneResult {
  table: CalibrationTable;
  tensors: { name: string; before: { min: number; max: number }; after: { min: number; max: number }; rows: number; keptBefore: number; keptAfter: number }[];
  samples: number;
}

/**
 * Isotone (order-preserving) ranges as a QDQ pass: for each tensor of findIsotoneTensors with a
 * table range, the top-2 values of every row on calibration samples (FP32) choose the range
 * (see isotoneRange).
 */
export async function isotoneRanges(work: OnnxModel, table: CalibrationTable, feeds: readonly Readonly<Record<string, FeedTensor>>[], opts: IsotoneOptions = {}): Promise<IsotoneResult> {
  const use = feeds.slice(0, opts.samples ?? 16);
  const tensors = findIsotoneTensors(work).filter((t) => table.tensors[t]);
  if (!tensors.length || !use.length) return { table, tensors: [], samples: use.length };
  const m = withTop2(work, tensors);
  const s = await createSession(encodeModel(m.model), 'isotone ranges (FP32 top-2)', opts.session);
  const top1 = tensors.map(() => [] as number[]), top2 = tensors.map(() => [] as number[]);
  try {
    for (let i = 0; i < use.length; i++) {
      const r = await runBatch(s, use[i]!, m.outputs, `isotone ranges, sample ${i + 1}`);
      m.outputs.forEach((o, k) => { const d = r[o]!.data as Float32Array; for (let j = 0; j + 1 < d.length; j += 2) { top1[k]!.push(d[j]!); top2[k]!.push(d[j + 1]!); } });
    }
  } finally { await s.release(); }
  const ranges = new Map<string, { min: number; max: number }>();
  const report: IsotoneResult['tensors'] = [];
  tensors.forEach((t, k) => {
    const e = table.tensors[t]!;
    const b = isotoneRange(top1[k]!, top2[k]!, e.min, e.max);
    ranges.set(t, { min: b.min, max: b.max });
    report.push({ name: t, before: { min: e.min, max: e.max }, after: { min: b.min, max: b.max }, rows: b.rows, keptBefore: b.keptBefore, keptAfter: b.kept });
  });
  return { table: withRanges(table, ranges), tensors: report, samples: use.length };
}
