import { DataType, encodeModel, opsetVersion, type OnnxModel, type OnnxNode, type OnnxTensor } from '../../onnx/model';
import { NameScope, int64Vector, intAttr, intsAttr, makeNode } from '../../onnx/graph-builder';
import { createSession, runBatch, type SessionSettings } from '../../runner/session';
import type { FeedTensor } from '../../tensor';

/** A tensor whose per-channel range is measured: channels on axis 1 of a rank-`rank` tensor ('conv') or on the last axis. */
export interface ChannelTensor {
  readonly name: string;
  readonly channels: number;
  readonly layout: { kind: 'conv'; rank: number } | { kind: 'last' };
}

/** Per-channel minimum and maximum of a tensor over every sample and every non-channel position. */
export interface ChannelRange {
  readonly min: Float64Array;
  readonly max: Float64Array;
}

/**
 * The model with two extra float outputs per tensor: its ReduceMin and ReduceMax over every axis
 * but the channel axis (reduced in the graph: only 2·C values per tensor leave onnxruntime).
 * Axes go in an attribute below opset 18, in an input from 18.
 */
export function withChannelRanges(model: OnnxModel, tensors: readonly ChannelTensor[]): { model: OnnxModel; outputs: [string, string][] } {
  const g = model.graph!;
  const names = new NameScope(g);
  const opset = opsetVersion(model);
  const nodes: OnnxNode[] = [];
  const inits: OnnxTensor[] = [];
  const reduce = (op: 'ReduceMin' | 'ReduceMax', x: string, axes: number[], out: string): void => {
    if (opset >= 18) {
      const a = names.fresh(`${out}_axes`);
      inits.push(int64Vector(a, axes));
      nodes.push(makeNode(op, [x, a], [out], names.fresh(`${out}_${op}`), [intAttr('keepdims', 0)]));
    } else nodes.push(makeNode(op, [x], [out], names.fresh(`${out}_${op}`), [intsAttr('axes', axes), intAttr('keepdims', 0)]));
  };
  const outputs: [string, string][] = tensors.map((t) => {
    const lo = names.fresh(`${t.name}_qcal_channel_min`), hi = names.fresh(`${t.name}_qcal_channel_max`);
    let x = t.name;
    let axes: number[];
    if (t.layout.kind === 'conv') axes = [0, ...Array.from({ length: t.layout.rank - 2 }, (_, i) => i + 2)];
    else {
      const shape = names.fresh(`${lo}_shape`);
      x = names.fresh(`${t.name}_qcal_channel_flat`);
      inits.push(int64Vector(shape, [-1, t.channels]));
      nodes.push(makeNode('Reshape', [t.name, shape], [x], names.fresh(`${x}_Reshape`)));
      axes = [0];
    }
    reduce('ReduceMin', x, axes, lo);
    reduce('ReduceMax', x, axes, hi);
    return [lo, hi];
  });
  const info = (name: string, c: number) => ({ name, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimValue: c }] } } } });
  const outInfo = outputs.flatMap(([lo, hi], i) => [info(lo, tensors[i]!.channels), info(hi, tensors[i]!.channels)]);
  return { model: { ...model, graph: { ...g, node: [...g.node, ...nodes], initializer: [...g.initializer, ...inits], output: [...g.output, ...outInfo] } }, outputs };
}

/**
 * Measures the per-channel range of `tensors` in the float `model` over `feeds` (one session, one
 * run per feed). NaN values are ignored by the running min/max (onnxruntime's ReduceMin/Max
 * propagate NaN per channel; such a channel keeps the range of the other samples).
 */
export async function measureChannelRanges(model: OnnxModel, tensors: readonly ChannelTensor[], feeds: readonly Readonly<Record<string, FeedTensor>>[], where: string, session?: SessionSettings): Promise<Map<string, ChannelRange>> {
  const out = new Map<string, ChannelRange>(tensors.map((t) => [t.name, { min: new Float64Array(t.channels).fill(Infinity), max: new Float64Array(t.channels).fill(-Infinity) }]));
  if (!tensors.length || !feeds.length) return out;
  const m = withChannelRanges(model, tensors);
  const s = await createSession(encodeModel(m.model), where, session);
  try {
    for (let i = 0; i < feeds.length; i++) {
      const r = await runBatch(s, feeds[i]!, m.outputs.flat(), `${where}, sample ${i + 1}`);
      m.outputs.forEach(([lo, hi], k) => {
        const acc = out.get(tensors[k]!.name)!;
        const a = r[lo]!.data as Float32Array, b = r[hi]!.data as Float32Array;
        for (let c = 0; c < acc.min.length; c++) {
          if (a[c]! < acc.min[c]!) acc.min[c] = a[c]!;
          if (b[c]! > acc.max[c]!) acc.max[c] = b[c]!;
        }
      });
    }
  } finally { await s.release(); }
  return out;
}
