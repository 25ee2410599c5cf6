import { attrFloat, makeFloatTensor, placeholderTensor, type OnnxModel, type OnnxNode, type OnnxTensor } from '../onnx/model';
import { NameScope } from '../onnx/graph-builder';
import { Constants } from './constants';

export interface FoldedBatchNorm {
  /** Name of the Conv node (or its output when unnamed). */
  conv: string;
  batchNorm: string;
  /** The Conv output tensor that no longer exists (the Conv now writes the BN output). */
  removedTensor: string;
  /** The BN output, now produced by the Conv. */
  output: string;
  /** The folded op when not a BatchNormalization (`Mul`, `Add`: see foldConvAffine). */
  op?: string;
}

/**
 * Folds BatchNormalization into the preceding Conv where the Conv output feeds only that BN (and
 * is not a graph output) and all weights are constants: W' = W·γ/√(σ²+ε) per output channel,
 * b' = (b−μ)·γ/√(σ²+ε) + β, computed in float64 (as onnxruntime's ConvBNFusion, which its
 * quantization pre-processing applies). The Conv then produces the BN's output tensor under the
 * BN output's name, so table entries for that name still apply; the Conv's own output tensor
 * disappears. `skip(node)` leaves a pair unfolded (excluded ops). The input model is not modified.
 * `shapeOnly`: the same folds and graph with placeholder weights and biases of the right shape (as
 * foldConvAffine's): no fold decision depends on values.
 */
export function foldBatchNorms(model: OnnxModel, skip: (n: OnnxNode) => boolean = () => false, shapeOnly = false): { model: OnnxModel; folded: FoldedBatchNorm[] } {
  const g = model.graph!;
  const consts = new Constants(g);
  const names = new NameScope(g);
  const outputs = new Set(g.output.map((o) => o.name));
  const consumers = new Map<string, OnnxNode[]>();
  for (const n of g.node) for (const i of n.input) if (i) { let l = consumers.get(i); if (!l) consumers.set(i, (l = [])); l.push(n); }
  const replace = new Map<OnnxNode, OnnxNode>();
  const drop = new Set<OnnxNode>();
  const inits: OnnxTensor[] = [];
  const folded: FoldedBatchNorm[] = [];
  for (const conv of g.node) {
    if (conv.opType !== 'Conv' || (conv.domain && conv.domain !== 'ai.onnx') || skip(conv)) continue;
    const y = conv.output[0]!;
    const cs = consumers.get(y) ?? [];
    const bn = cs[0];
    if (cs.length !== 1 || !bn || bn.opType !== 'BatchNormalization' || bn.input[0] !== y || outputs.has(y) || skip(bn)) continue;
    if (bn.output.slice(1).some((o) => o && (consumers.has(o) || outputs.has(o)))) continue;
    const w = consts.get(conv.input[1] ?? '');
    const b = conv.input[2] ? consts.get(conv.input[2]) : undefined;
    const [gamma, beta, mean, vari] = bn.input.slice(1, 5).map((x) => consts.get(x ?? ''));
    if (!w || (conv.input[2] && !b) || !gamma || !beta || !mean || !vari) continue;
    const cout = w.dims[0]!;
    if ([gamma, beta, mean, vari].some((v) => v.values.length !== cout) || (b && b.values.length !== cout)) continue;
    const eps = attrFloat(bn, 'epsilon', 1e-5);
    const inner = w.values.length / cout;
    const w2 = shapeOnly ? w.values : new Float32Array(w.values.length);
    const b2 = new Float32Array(cout);
    for (let c = 0; c < (shapeOnly ? 0 : cout); c++) {
      const k = gamma.values[c]! / Math.sqrt(vari.values[c]! + eps);
      const wv = w.values;
      for (let i = c * inner, end = i + inner; i < end; i++) w2[i] = wv[i]! * k;
      b2[c] = ((b ? b.values[c]! : 0) - mean.values[c]!) * k + beta.values[c]!;
    }
    const out = bn.output[0]!;
    const wName = names.fresh(`${conv.input[1]}_bn_folded`);
    const bName = names.fresh(`${out}_bn_folded_bias`);
    const tensor = shapeOnly ? placeholderTensor : makeFloatTensor;
    inits.push(tensor(wName, w.dims, w2), tensor(bName, [cout], b2));
    replace.set(conv, { ...conv, input: [conv.input[0]!, wName, bName], output: [out] });
    drop.add(bn);
    folded.push({ conv: conv.name || y, batchNorm: bn.name || out, removedTensor: y, output: out });
  }
  if (!folded.length) return { model, folded };
  const node = g.node.filter((n) => !drop.has(n)).map((n) => replace.get(n) ?? n);
  const removed = new Set(folded.map((f) => f.removedTensor));
  return {
    model: { ...model, graph: { ...g, node, initializer: [...g.initializer, ...inits], valueInfo: g.valueInfo.filter((v) => !removed.has(v.name)) } },
    folded,
  };
}
