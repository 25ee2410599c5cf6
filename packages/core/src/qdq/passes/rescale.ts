import { makeFloatTensor, type OnnxModel, type OnnxTensor } from '../../onnx/model';
import { NameScope } from '../../onnx/graph-builder';
import type { CalibrationTable } from '../../table';
import type { ChannelRange } from './channel-stats';

/**
 * Shared by the passes that rescale channels (SmoothQuant, cross-layer equalization): new constant
 * values for node inputs, written as fresh initializers the nodes read instead (the original
 * constants stay for any other reader), keyed by `${node output[0]}#${input index}`.
 */
export function replaceNodeInputs(model: OnnxModel, values: ReadonlyMap<string, { dims: readonly number[]; values: Float32Array; base: string }>): OnnxModel {
  if (!values.size) return model;
  const g = model.graph!;
  const names = new NameScope(g);
  const inits: OnnxTensor[] = [];
  const node = g.node.map((n) => {
    let input = n.input;
    n.input.forEach((_, i) => {
      const v = values.get(`${n.output[0] ?? ''}#${i}`);
      if (!v) return;
      const name = names.fresh(v.base);
      inits.push(makeFloatTensor(name, v.dims, v.values));
      if (input === n.input) input = [...n.input];
      input[i] = name;
    });
    return input === n.input ? n : { ...n, input };
  });
  return { ...model, graph: { ...g, node, initializer: [...g.initializer, ...inits] } };
}

/**
 * The table range of a tensor whose channel c was multiplied by `factor[c]` (> 0), from its
 * measured per-channel range before the change: each side is scaled by how much the extreme of
 * the measured per-channel ranges moved, so a collector that clipped the tensor (ifmr, percentile)
 * keeps its clipping ratio, and minmax gets the exact new min/max. A side whose measured extreme is
 * 0 becomes the new measured extreme. Channels never seen (infinite range) are ignored.
 */
export function rescaledRange(entry: { min: number; max: number }, before: ChannelRange, factor: ArrayLike<number>): { min: number; max: number } {
  let mn = Infinity, mx = -Infinity, mn2 = Infinity, mx2 = -Infinity;
  for (let c = 0; c < before.min.length; c++) {
    const lo = before.min[c]!, hi = before.max[c]!, f = factor[c]!;
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) continue;
    mn = Math.min(mn, lo); mx = Math.max(mx, hi);
    mn2 = Math.min(mn2, lo * f); mx2 = Math.max(mx2, hi * f);
  }
  if (!Number.isFinite(mn) || !Number.isFinite(mx)) return entry;
  const side = (v: number, a: number, b: number): number => (a !== 0 ? v * (b / a) : b);
  const min = side(entry.min, mn, mn2), max = side(entry.max, mx, mx2);
  return min <= max && Number.isFinite(min) && Number.isFinite(max) ? { min, max } : entry;
}

/** `table` with the given entries' ranges replaced (other fields of each entry kept). */
export function withRanges(table: CalibrationTable, ranges: ReadonlyMap<string, { min: number; max: number }>): CalibrationTable {
  if (!ranges.size) return table;
  const tensors = { ...table.tensors };
  for (const [name, r] of ranges) if (tensors[name]) tensors[name] = { ...tensors[name]!, min: r.min, max: r.max };
  return { ...table, tensors };
}
