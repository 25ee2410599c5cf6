import type { GraphIndex } from '../onnx/graph-index';
import { rankLayers, type LayerSensitivity } from './measure-sensitivity';
import type { TensorProbe } from './build-probe';
import type { SensitivityProbe } from './sensitivity-probe';

export interface RankOptions {
  /** 'loss' (quantize one alone) or 'gain' (leave one alone float). */
  by: 'loss' | 'gain';
  /**
   * 0 or 1 (default): measure every tensor. G > 1: two-level search — first blocks of G tensors
   * (consecutive in graph order) are measured as one, then only the members of the most harmful
   * blocks (those with at least `refineFraction` of the worst block's harm, at least the top 2)
   * one by one. Members of other blocks follow in block order, then graph order; their `loss` /
   * `gain` is left undefined and `blockHarm` says how harmful their block was.
   */
  groupSize?: number;
  refineFraction?: number;
  /**
   * How harmful blocks are refined: `members` (default) measures each member alone; `halves`
   * splits the block in two, measures both, and descends into the more harmful half (into both
   * when the other has at least half its harm) down to single tensors — 2·log2(G) probes per
   * block instead of G, exact for the one or two tensors that carry a block's harm. Members are
   * then ordered by the harm of the smallest group they were measured in.
   */
  refine?: 'members' | 'halves';
  /** Refine at most this many blocks (default: every block with refineFraction of the worst harm, at least 2). */
  maxRefinedBlocks?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Tensors whose switches one restricted switch model keeps (see SensitivityProbe.focus). */
const FOCUS_WINDOW = 32;

/** A ranking row with the harm of its block (grouped ranking). */
export type RankedTensor = LayerSensitivity & { blockHarm?: number };

/**
 * Ranks the probe's quantized activations, most harmful first (ties in graph order). Cost:
 * N configurations exhaustively; about N/G + refined·G with blocks of G.
 */
export async function rankTensors(probe: Pick<TensorProbe, 'switches' | 'score'> & Partial<Pick<SensitivityProbe, 'focus'>>, idx: GraphIndex, opts: RankOptions): Promise<RankedTensor[]> {
  const all = new Set(probe.switches);
  const loss = opts.by === 'loss';
  // Scores run on a switch model restricted to a window of tensors around the ones varied
  // (SensitivityProbe.focus): about a plain inference each instead of the full switch model's.
  const fixed = loss ? 'off' : 'on';
  await probe.focus?.([], fixed);
  const base = await probe.score(loss ? new Set() : all);
  let window = new Set<string>();
  const harmOf = async (members: readonly string[]): Promise<number> => {
    if (probe.focus && !members.every((m) => window.has(m))) {
      const start = probe.switches.indexOf(members[0]!);
      const next = probe.switches.slice(start, start + FOCUS_WINDOW);
      window = new Set(members.every((m) => next.includes(m)) ? next : members);
      await probe.focus([...window], fixed);
    }
    const on = loss ? new Set(members) : new Set([...all].filter((t) => !members.includes(t)));
    const s = await probe.score(on);
    return loss ? base - s : s - base;
  };
  const row = (tensor: string, order: number): RankedTensor => {
    const t = idx.tensors.get(tensor);
    return { tensor, op: t?.opName ?? '', opType: t?.opType ?? '', order };
  };
  const setHarm = (r: RankedTensor, h: number): void => {
    if (loss) { r.loss = h; r.quantizedAlone = base - h; } else { r.gain = h; r.floatAlone = base + h; }
  };
  const n = probe.switches.length;
  const g = Math.max(1, Math.floor(opts.groupSize ?? 1));
  if (g <= 1) {
    const rows: RankedTensor[] = [];
    for (const [order, tensor] of probe.switches.entries()) {
      const r = row(tensor, order);
      setHarm(r, await harmOf([tensor]));
      rows.push(r);
      opts.onProgress?.(order + 1, n);
    }
    return rankLayers(rows, opts.by);
  }
  const blocks: { members: number[]; harm: number }[] = [];
  for (let i = 0; i < n; i += g) blocks.push({ members: Array.from({ length: Math.min(g, n - i) }, (_, k) => i + k), harm: 0 });
  let done = 0;
  for (const b of blocks) {
    b.harm = await harmOf(b.members.map((i) => probe.switches[i]!));
    opts.onProgress?.(++done, blocks.length);
  }
  const key = (h: number): number => (Number.isNaN(h) ? Infinity : h);
  const byHarm = blocks.map((b, i) => ({ b, i })).sort((x, y) => key(y.b.harm) - key(x.b.harm) || x.i - y.i);
  const worst = Math.max(0, key(byHarm[0]!.b.harm));
  const frac = opts.refineFraction ?? 0.1;
  const refine = byHarm.filter((x, rank) => (rank < 2 || key(x.b.harm) >= frac * worst) && rank < (opts.maxRefinedBlocks ?? Infinity));
  const refined: RankedTensor[] = [];
  if (opts.refine === 'halves') {
    const total = blocks.length + refine.reduce((a, x) => a + 2 * Math.ceil(Math.log2(Math.max(2, x.b.members.length))), 0);
    const descend = async (members: number[], harm: number, block: number): Promise<void> => {
      if (members.length === 1) {
        const r: RankedTensor = { ...row(probe.switches[members[0]!]!, members[0]!), blockHarm: block };
        setHarm(r, harm);
        refined.push(r);
        return;
      }
      const half = members.length >> 1;
      const parts = [members.slice(0, half), members.slice(half)];
      const harms: number[] = [];
      for (const p of parts) { harms.push(await harmOf(p.map((i) => probe.switches[i]!))); opts.onProgress?.(++done, total); }
      const [a, b] = harms.map(key) as [number, number];
      const order = a >= b ? [0, 1] : [1, 0];
      const top = Math.max(a, b);
      for (const k of order) {
        if (k === order[0] || key(harms[k]!) >= 0.5 * top) await descend(parts[k]!, harms[k]!, block);
        else for (const i of parts[k]!) { const r: RankedTensor = { ...row(probe.switches[i]!, i), blockHarm: block }; setHarm(r, harms[k]!); refined.push(r); }
      }
    };
    for (const { b } of refine) await descend(b.members, b.harm, b.harm);
    const refinedBlocks = new Set(refine.map((x) => x.b));
    const rest: RankedTensor[] = byHarm.filter((x) => !refinedBlocks.has(x.b)).flatMap(({ b }) => b.members.map((i) => ({ ...row(probe.switches[i]!, i), blockHarm: b.harm })));
    // One order: each tensor by the harm of the smallest group it was measured in (its own, its
    // half's, or its unrefined block's), most harmful first, ties in graph order.
    const eff = (r: RankedTensor): number => key((loss ? r.loss : r.gain) ?? r.blockHarm ?? 0);
    return [...refined, ...rest].sort((a, b) => eff(b) - eff(a) || a.order - b.order);
  }
  const total = blocks.length + refine.reduce((a, x) => a + x.b.members.length, 0);
  for (const { b } of refine) {
    for (const i of b.members) {
      const r: RankedTensor = { ...row(probe.switches[i]!, i), blockHarm: b.harm };
      setHarm(r, await harmOf([probe.switches[i]!]));
      refined.push(r);
      opts.onProgress?.(++done, total);
    }
  }
  const refinedBlocks = new Set(refine.map((x) => x.b));
  const rest: RankedTensor[] = byHarm.filter((x) => !refinedBlocks.has(x.b)).flatMap(({ b }) => b.members.map((i) => ({ ...row(probe.switches[i]!, i), blockHarm: b.harm })));
  return [...rankLayers(refined, opts.by), ...rest];
}
