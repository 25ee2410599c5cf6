import { makeFloatTensor, placeholderTensor, type OnnxModel, type OnnxNode, type OnnxTensor } from '../onnx/model';
import { NameScope } from '../onnx/graph-builder';
import { Constants, type ConstantValue } from './constants';
import type { FoldedBatchNorm } from './fold-batchnorm';

/**
 * Per-output-channel values of a constant that broadcasts onto a Conv output [N, C, ...spatial]
 * without changing its shape: a single value, or C values laid out along axis 1 ([C, 1, …] of
 * rank spatial+1, or [1, C, 1, …] of rank spatial+2). Else undefined.
 */
function channelValues(c: ConstantValue, cout: number, outRank: number): Float64Array | undefined {
  const n = c.values.length;
  if (n === 1 && c.dims.length <= outRank) return new Float64Array(cout).fill(c.values[0]!);
  if (n !== cout) return undefined;
  const d = c.dims;
  const ok = (d.length === outRank - 1 && d[0] === cout && d.slice(1).every((x) => x === 1))
    || (d.length === outRank && d[0] === 1 && d[1] === cout && d.slice(2).every((x) => x === 1));
  return ok ? Float64Array.from(c.values) : undefined;
}

/**
 * Folds constant affine ops that follow a Conv into it, repeatedly: Conv → Mul(·, a) gives
 * W' = a_c·W, b' = a_c·b; Conv → Add(·, k) gives b' = b + k_c (a, k one value or one per output
 * channel). PP-LCNetV3 — PP-OCRv4's backbone — follows every Conv with such a "learnable affine"
 * Mul+Add pair; left unfolded, each is a separately quantized tensor (two extra roundings per
 * layer, and an integer Mul/Add kernel each). Exact in float (computed in float64), as
 * onnxruntime's Conv+Mul / Conv+Add fusions. Conditions: the Conv output feeds only that node and
 * is not a graph output, the Conv's weights are constant, the operand is constant. The Conv then
 * writes the Mul/Add output under its name; its own output disappears (reported like a folded
 * BatchNormalization). `skip(node)` leaves a node alone. The input model is not modified.
 * `shapeOnly`: the same folds and graph, but the folded weights and biases keep placeholder values
 * of the right shape (the weights unscaled, biases 0): for questions about the structure only (which
 * tensors exist; see quantizedTensorNames), without the weight arithmetic. No fold decision depends
 * on values, only on shapes.
 */
export function foldConvAffine(model: OnnxModel, skip: (n: OnnxNode) => boolean = () => false, shapeOnly = false): { model: OnnxModel; folded: FoldedBatchNorm[] } {
  const g = model.graph!;
  const consts = new Constants(g);
  const names = new NameScope(g);
  const outputs = new Set(g.output.map((o) => o.name));
  const rank = new Map<string, number>();
  for (const v of [...g.valueInfo, ...g.output]) { const d = v.type?.tensorType?.shape?.dim; if (d) rank.set(v.name, d.length); }
  const nodes = [...g.node];
  const inits: OnnxTensor[] = [];
  const newConst = new Map<string, ConstantValue>();
  const get = (name: string | undefined): ConstantValue | undefined => (name ? newConst.get(name) ?? consts.get(name) : undefined);
  const folded: FoldedBatchNorm[] = [];
  // Readers of every tensor (a node reading it twice is listed twice), kept current as ops fold.
  const consumers = new Map<string, OnnxNode[]>();
  for (const n of nodes) for (const i of n.input) if (i) { let l = consumers.get(i); if (!l) consumers.set(i, (l = [])); l.push(n); }
  const removedOps = new Set<OnnxNode>();
  // One Conv → Mul/Add fold, or undefined. Folds keep the graph's order: a fold never makes an
  // earlier Conv foldable (it changes only the readers of the folded Conv's output), so taking
  // each Conv in order and folding it while it folds gives the same folds, in the same order, as
  // restarting from the first node after every fold.
  const foldOnce = (conv: OnnxNode): OnnxNode | undefined => {
    // (A fused Conv is checked again: `skip` sees it under its new output's name.)
    if (skip(conv)) return undefined;
    const y = conv.output[0]!;
    const cs = consumers.get(y) ?? [];
    const op = cs[0];
    if (cs.length !== 1 || !op || (op.opType !== 'Mul' && op.opType !== 'Add') || outputs.has(y) || skip(op) || op.input.length !== 2) return undefined;
    const other = op.input[0] === y ? op.input[1] : op.input[0];
    if (other === y) return undefined;
    const w = get(conv.input[1]);
    const b = conv.input[2] ? get(conv.input[2]) : undefined;
    const c = get(other);
    if (!w || (conv.input[2] && !b) || !c) return undefined;
    const cout = w.dims[0]!;
    const outRank = w.dims.length; // [N, C, spatial…] has the weight's rank
    const v = channelValues(c, cout, rank.get(op.output[0]!) ?? outRank);
    if (!v) return undefined;
    const inner = w.values.length / cout;
    let w2 = w.values;
    const b2 = new Float32Array(cout);
    if (shapeOnly) {
      // (Placeholders: see the doc comment.)
    } else if (op.opType === 'Mul') {
      w2 = new Float32Array(w.values.length);
      // (The store rounds to float32, as Math.fround would.)
      const wv = w.values;
      for (let o = 0; o < cout; o++) { const a = v[o]!; for (let i = o * inner, end = i + inner; i < end; i++) w2[i] = wv[i]! * a; }
      for (let o = 0; o < cout; o++) b2[o] = (b ? b.values[o]! : 0) * v[o]!;
    } else {
      for (let o = 0; o < cout; o++) b2[o] = (b ? b.values[o]! : 0) + v[o]!;
    }
    const out = op.output[0]!;
    const wName = op.opType === 'Mul' ? names.fresh(`${conv.input[1]}_affine_folded`) : conv.input[1]!;
    const bName = names.fresh(`${out}_affine_folded_bias`);
    const tensor = shapeOnly ? placeholderTensor : makeFloatTensor;
    if (op.opType === 'Mul') { inits.push(tensor(wName, w.dims, w2)); newConst.set(wName, { dims: w.dims, values: w2 }); }
    inits.push(tensor(bName, [cout], b2));
    newConst.set(bName, { dims: [cout], values: b2 });
    const fused = { ...conv, input: [conv.input[0]!, wName, bName], output: [out] };
    // The op is gone: it no longer reads y nor its operand; the fused Conv reads its input as before.
    removedOps.add(op);
    for (const i of op.input) { const l = i ? consumers.get(i) : undefined; if (l) l.splice(l.indexOf(op), 1); }
    const x = consumers.get(conv.input[0]!);
    const at = x ? x.indexOf(conv) : -1;
    if (at >= 0) x![at] = fused;
    folded.push({ conv: conv.name || y, batchNorm: op.name || out, removedTensor: y, output: out, op: op.opType });
    return fused;
  };
  for (let k = 0; k < nodes.length; k++) {
    let conv = nodes[k]!;
    if (conv.opType !== 'Conv' || (conv.domain && conv.domain !== 'ai.onnx') || removedOps.has(conv)) continue;
    for (let fused = foldOnce(conv); fused; fused = foldOnce(conv)) conv = nodes[k] = fused;
  }
  if (!folded.length) return { model, folded };
  const removed = new Set(folded.map((f) => f.removedTensor));
  const kept = nodes.filter((n) => !removedOps.has(n));
  const used = new Set(kept.flatMap((n) => n.input));
  return {
    model: { ...model, graph: { ...g, node: kept, initializer: [...g.initializer, ...inits.filter((t) => used.has(t.name ?? ''))], valueInfo: g.valueInfo.filter((v) => !removed.has(v.name)) } },
    folded,
  };
}
