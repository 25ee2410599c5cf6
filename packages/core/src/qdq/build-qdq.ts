import { TableError } from '../errors';
import { DataType, makeFloatTensor, makeIntTensor, opsetVersion, type OnnxGraph, type OnnxModel, type OnnxNode, type OnnxTensor } from '../onnx/model';
import { indexGraph } from '../onnx/graph-index';
import { subgraphsOf } from '../onnx/subgraphs';
import { NameScope, intAttr, makeNode } from '../onnx/graph-builder';
import { upgradeOpset } from '../onnx/opset-upgrade';
import { compilePatterns } from '../select/compile-patterns';
import type { CalibrationTable } from '../table';
import { Constants } from './constants';
import { foldBatchNorms, type FoldedBatchNorm } from './fold-batchnorm';
import { foldConvAffine } from './fold-affine';
import { planQdq, VALUE_PRESERVING, weightAxis, type QdqPlan, type QuantizeMode } from './qdq-plan';
import { saturateRanges, type SaturatedRange } from './passes/saturation-ranges';
import { findActivationChains, replaceWithHardSwish } from './passes/fuse-activations';
import { activationParams, int16Params, roundEven, quantizeBias, quantizeWeights, type ActivationType, type QuantParams } from './quant-params';

export interface QdqOptions {
  /** `smart` (default): Q/DQ only where onnxruntime has integer kernels; `full`: every calibrated activation. */
  quantizeMode?: QuantizeMode;
  /**
   * Activation element type. `uint8` (default; onnxruntime's CPU kernels fuse it into QLinearConv,
   * QGemm, QLinearAdd…), `int8` (symmetric), or `auto` (uint8 for ranges with min >= 0, int8
   * symmetric otherwise, as MXNet's quantized_dtype=auto).
   */
  activationType?: ActivationType | 'auto';
  /** Tensors and ops to keep float: names, globs, /regex/ or op:Type (the include/exclude grammar). */
  exclude?: readonly string[];
  /** Per-output-channel weight scales (default true); false: one scale per weight tensor. */
  perChannel?: boolean;
  /**
   * 7-bit weights (±64, onnxruntime's reduce_range): default true. onnxruntime's x86 u8s8 kernels
   * on CPUs without VNNI (AVX2, AVX-512F) add pairs of uint8×int8 products in int16 with
   * saturation; with full-range weights that overflows and corrupts Conv outputs (measured on the
   * PP-OCRv4 classifier: first Conv 19 dB SQNR instead of 41 dB). Set false for VNNI/ARM targets.
   */
  reduceRange?: boolean;
  /** Fold BatchNormalization into the preceding Conv before quantizing (default true). */
  foldBatchNorm?: boolean;
  /**
   * Fold constant Mul/Add that follow a Conv into its weights and bias (default true; see
   * foldConvAffine): one rounding per layer instead of three on PP-LCNet's learnable affine blocks.
   */
  foldAffine?: boolean;
  /**
   * Hook for graph passes (src/qdq/passes): rewrites the float model the writer quantizes, after
   * the opset upgrade and BatchNormalization folding (see {@link prepareQdqWork}). It must keep
   * every tensor name the table refers to. Library only (not a config key).
   */
  rewrite?: (work: OnnxModel) => OnnxModel;
  /**
   * Narrow each range to what its consumers can see (default true): a tensor read only by Relu,
   * Clip, HardSigmoid or a HardSwish (also decomposed: x·Clip(x+3, 0, 6)/6) loses nothing below
   * their saturation points, so those INT8 levels go where values matter (see saturateRanges).
   */
  saturationRanges?: boolean;
  /**
   * Treat a decomposed HardSwish (x·Clip(x+3, 0, 6)/6, x·HardSigmoid(x)) and the one-value
   * Mul/Add after it (a·hardswish(x) + b) as one activation (default true; see
   * findActivationChains): its input and output are quantized, the tensors between run in float
   * (the decomposition as one HardSwish node where opset 14 can be declared) — one rounding
   * instead of up to six.
   */
  fuseActivations?: boolean;
  /**
   * Activations to quantize with 16 bits (int16, symmetric) instead of 8: the mixed-precision step
   * between INT8 and FP32 of the fallback search. Written as com.microsoft QuantizeLinear /
   * DequantizeLinear (onnxruntime's contrib ops take int16 at any opset; ONNX's own from opset 21).
   * Tensors a table lists in `meta.int16` are added.
   */
  int16?: readonly string[];
}

export interface QuantizedTensorInfo { name: string; type: ActivationType | 'int16'; scale: number; zeroPoint: number; min: number; max: number; dequantized: string }
export interface QuantizedWeightInfo { node: string; opType: string; weight: string; axis: number; channels: number; bias?: string }

export interface QdqReport {
  quantizeMode: QuantizeMode;
  activationType: ActivationType | 'auto';
  opset: { from: number; to: number; converted: Record<string, number> };
  foldedBatchNorms: FoldedBatchNorm[];
  tensors: QuantizedTensorInfo[];
  weights: QuantizedWeightInfo[];
  /** Table tensors left float, with the reason. */
  skipped: { name: string; reason: string }[];
  /** tensor → its DequantizeLinear output in the QDQ model (also in metadata `qcal.dequantized`). */
  dequantized: Record<string, string>;
  /** Ranges narrowed to their consumers' live interval (saturationRanges). */
  saturated: SaturatedRange[];
  /** Decomposed HardSwish chains treated as one activation (fuseActivations): how many, their float tensors, and how many became a HardSwish node. */
  fusedActivations: { chains: number; floatTensors: number; replaced: number };
  /** Of `tensors` and `weights`, how many are inside If/Loop/Scan bodies (absent without bodies). */
  inBodies?: { activations: number; weights: number };
}

/** metadata_props key holding the tensor → DequantizeLinear-output map as JSON. */
export const DEQUANTIZED_METADATA_KEY = 'qcal.dequantized';
/**
 * metadata_props key: tensor → [lo, hi] (null for an open side), the interval its consumers see
 * (saturationRanges). Its dequantized value is clamped there on purpose; a per-layer comparison
 * clamps the FP32 value the same way (see evaluateModels).
 */
export const SATURATED_METADATA_KEY = 'qcal.saturated';

/**
 * Checks a table against a model before anything is built: every range finite with min <= max,
 * every tensor name present in the model. Throws one TableError listing the problems.
 */
export function checkTableForModel(model: OnnxModel, table: CalibrationTable, where = 'table'): void {
  const idx = indexGraph(model);
  const problems: string[] = [];
  const missing: string[] = [];
  for (const [name, e] of Object.entries(table.tensors ?? {})) {
    const { min, max } = (e ?? {}) as { min?: unknown; max?: unknown };
    if (typeof min !== 'number' || typeof max !== 'number' || !Number.isFinite(min) || !Number.isFinite(max)) problems.push(`tensor "${name}": min and max must be finite numbers, got min=${String(min)} max=${String(max)}`);
    else if (min > max) problems.push(`tensor "${name}": min ${min} > max ${max}`);
    if (!idx.tensors.has(name)) missing.push(name);
  }
  if (missing.length) {
    const n = Object.keys(table.tensors).length;
    const other = missing.length === n ? ` — none of its ${n} tensors is in this model: is it a table of another model${table.model ? ` (the table names "${table.model}")` : ''}?` : '';
    problems.unshift(`${missing.length} tensor(s) not in the model${other}: ${missing.slice(0, 10).map((m) => `"${m}"`).join(', ')}${missing.length > 10 ? `, … and ${missing.length - 10} more` : ''}`);
  }
  if (problems.length) throw new TableError(`${where}: does not fit the model: ${problems.length > 1 ? `\n  ${problems.join('\n  ')}` : problems[0]}`);
}

/**
 * The float model the writer quantizes: upgraded to opset 13 when older, BatchNormalization folded
 * into Conv (unless `foldBatchNorm: false`; excluded ops stay unfolded). Graph passes that rewrite
 * it (bias correction, equalization) start from here and hand their result back through `rewrite`.
 */
export function prepareQdqWork(model: OnnxModel, opts: QdqOptions = {}): PreparedWork {
  // Memoized per model object and the options it depends on: a fallback search or ranking builds
  // the same model dozens of times with different tables (the result is never mutated).
  const key = JSON.stringify([opts.exclude ?? [], opts.foldBatchNorm !== false, opts.foldAffine !== false]);
  let byKey = preparedCache.get(model);
  if (!byKey) preparedCache.set(model, (byKey = new Map()));
  const hit = byKey.get(key);
  if (hit) return hit;
  const r = prepareUncached(model, opts);
  if (byKey.size >= 4) byKey.delete(byKey.keys().next().value!);
  byKey.set(key, r);
  return r;
}

type PreparedWork = { up: ReturnType<typeof upgradeOpset>; fold: { model: OnnxModel; folded: FoldedBatchNorm[] } };
const preparedCache = new WeakMap<OnnxModel, Map<string, PreparedWork>>();

/**
 * {@link prepareQdqWork}'s graph without its weight arithmetic (not memoized): the same nodes,
 * tensors and folds, but folded weights and biases are placeholders of the right shape. For
 * questions about which tensors the writer quantizes (quantizedTensorNames), never for writing.
 */
export function prepareQdqShape(model: OnnxModel, opts: Pick<QdqOptions, 'exclude' | 'foldBatchNorm' | 'foldAffine'> = {}): PreparedWork {
  return prepareUncached(model, opts, true);
}

function prepareUncached(model: OnnxModel, opts: QdqOptions, shapeOnly = false): PreparedWork {
  const patterns = compilePatterns(opts.exclude ?? [], 'exclude');
  // (Node names only matter to exclusion patterns: no index without any.)
  const origIdx = patterns.length ? indexGraph(model) : undefined;
  const nodeName = new Map(origIdx?.nodes.map((n, i) => [n.output[0] ?? '', origIdx.nodeNames[i]!]));
  const excludedNode = (n: OnnxNode): boolean => {
    if (!patterns.length) return false;
    const name = nodeName.get(n.output[0] ?? '') ?? n.name ?? '';
    return patterns.some((p) => p.test({ name, opName: name, opType: n.opType, consumers: [] }));
  };
  const up = upgradeOpset(model, 13);
  const bn = opts.foldBatchNorm === false ? { model: up.model, folded: [] } : foldBatchNorms(up.model, excludedNode, shapeOnly);
  if (opts.foldAffine === false) return { up, fold: bn };
  const affine = foldConvAffine(bn.model, excludedNode, shapeOnly);
  return { up, fold: { model: affine.model, folded: [...bn.folded, ...affine.folded] } };
}

/**
 * Builds an INT8 QDQ model from an FP32 model and a calibration table. The model is upgraded to
 * opset 13 when older (per-channel QuantizeLinear), BatchNormalization is folded into Conv, then
 * QuantizeLinear→DequantizeLinear is inserted after every chosen activation (all consumers read
 * the dequantized value), constant weights of Conv/ConvTranspose/Gemm/MatMul become int8
 * per-channel with a DequantizeLinear, and their biases int32 (scale = input scale × weight
 * scale). Graph inputs and outputs keep their names, types and dims; a graph output is not
 * replaced by its dequantized value. Throws TableError (nothing built) when the table does not
 * fit the model. The input model is not modified.
 */
export function buildQdqModel(model: OnnxModel, calibrated: CalibrationTable, opts: QdqOptions = {}): { model: OnnxModel; report: QdqReport } {
  const mode = opts.quantizeMode ?? 'smart';
  const actType = opts.activationType ?? 'uint8';
  checkTableForModel(model, calibrated);
  const patterns = compilePatterns(opts.exclude ?? [], 'exclude');
  const origIdx = indexGraph(model);
  const excludedTensor = (name: string): boolean => {
    const t = origIdx.tensors.get(name);
    return !!t && patterns.some((p) => p.test(t));
  };
  // Node names by first output, path-qualified inside If/Loop/Scan bodies (`If_0/then_branch/Conv_3`).
  const nodeName = new Map(origIdx.nodes.map((n, i) => [n.output[0] ?? '', origIdx.nodeNames[i]!]));
  for (const sg of origIdx.subgraphs) sg.graph.node.forEach((n, i) => nodeName.set(n.output[0] ?? '', sg.nodeNames[i]!));
  const excludedNode = (n: OnnxNode): boolean => {
    const name = nodeName.get(n.output[0] ?? '') ?? n.name ?? '';
    const info = { name, opName: name, opType: n.opType, consumers: [] };
    return patterns.some((p) => p.test(info));
  };

  const { up, fold } = prepareQdqWork(model, opts);
  const work0 = opts.rewrite ? opts.rewrite(fold.model) : fold.model;
  // Decomposed activations: their inner tensors get no Q/DQ and their nodes stay float (planned out).
  const chains = opts.fuseActivations === false ? [] : findActivationChains(work0);
  const chainOf = new Map(chains.flatMap((c) => c.internal.map((t) => [t, c.output] as const)));
  const chainNodes = new Set(chains.flatMap((c) => [...c.nodes, ...c.affine]));
  const { model: work, replaced } = replaceWithHardSwish(work0, chains);
  const { table, saturated } = opts.saturationRanges === false ? { table: calibrated, saturated: [] } : saturateRanges(work, calibrated);
  const g = work.graph!;
  const idx = indexGraph(work);
  const consts = new Constants(g);
  const names = new NameScope(g);
  const skipped = new Map<string, string>();
  const removed = new Set(fold.folded.map((f) => f.removedTensor));
  const foldedInto = new Map(fold.folded.map((f) => [f.removedTensor, f.batchNorm]));
  const ranged = new Set<string>();
  for (const name of Object.keys(table.tensors)) {
    const t = idx.tensors.get(name);
    if (removed.has(name)) skipped.set(name, `removed by folding ${foldedInto.get(name)} into the Conv before it (its output is quantized instead)`);
    else if (chainOf.has(name)) skipped.set(name, `inside the HardSwish chain ending in "${chainOf.get(name)}" (fuse-activations): runs in float between its input's and its output's Q/DQ`);
    else if (!t || t.isConstant || t.elemType !== DataType.FLOAT) skipped.set(name, 'not a float32 activation of the model');
    else if (excludedTensor(name)) skipped.set(name, 'excluded');
    else ranged.add(name);
  }
  // Each graph (main, then every If/Loop/Scan body) is planned on its own nodes; names are unique model-wide.
  const graphs: { nodes: readonly OnnxNode[]; names: readonly string[]; inputs: readonly string[] }[] = [
    { nodes: idx.nodes, names: idx.nodeNames, inputs: [] },
    ...idx.subgraphs.map((sg) => ({ nodes: sg.graph.node, names: sg.nodeNames, inputs: sg.graph.input.map((i) => i.name) })),
  ];
  const plan = mergePlans(graphs.map((gr) => planQdq({ ...idx, nodes: gr.nodes }, consts, ranged, mode, (n) => chainNodes.has(n) || excludedNode(n))), ranged);
  for (const [k, v] of plan.skipped) skipped.set(k, v);
  const namesOf = new Map<OnnxNode, string>();
  for (const gr of graphs) gr.nodes.forEach((n, i) => namesOf.set(n, gr.names[i]!));
  const subgraphOf = new Map(idx.subgraphs.map((sg) => [sg.graph, sg]));
  const graphOutputs = new Set(g.output.map((o) => o.name));

  // Quantization parameters, in graph order so value-preserving ops can share their input's.
  const params = new Map<string, QuantParams>();
  const wide = new Set([...(opts.int16 ?? []), ...(Array.isArray(calibrated.meta?.int16) ? (calibrated.meta!.int16 as unknown[]).filter((x): x is string => typeof x === 'string') : [])]);
  const typeFor = (min: number): ActivationType => (actType === 'auto' ? (min >= 0 ? 'uint8' : 'int8') : actType);
  const rangeOf = (name: string): { min: number; max: number } => table.tensors[name]!;
  const setParams = (name: string): void => {
    const r = rangeOf(name);
    // Softmax outputs are probabilities: a fixed grid over [0, 1] whatever the calibration saw, as
    // onnxruntime's QDQSoftmax (uint8: scale 1/256, zero point 0; symmetric int8: 1/128, 0).
    if (idx.tensors.get(name)?.opType === 'Softmax') {
      const type = typeFor(0);
      params.set(name, type === 'uint8' ? { type, scale: 1 / 256, zeroPoint: 0 } : { type, scale: 1 / 128, zeroPoint: 0 });
      return;
    }
    params.set(name, wide.has(name) ? int16Params(r.min, r.max) : activationParams(r.min, r.max, typeFor(r.min)));
  };
  for (const i of idx.calibratable) if ((i.isGraphInput || i.opType === 'SubgraphInput') && plan.tensors.has(i.name)) setParams(i.name);
  // Embedding tables (Gather of a float constant whose output is quantized): the table is quantized
  // per tensor on its own range and the output shares that grid, as onnxruntime's QDQGather does
  // (DQ → Gather → Q then folds into a Gather on 8-bit rows; the table shrinks 4×).
  const gatherTables = new Map<OnnxNode, QuantParams>();
  for (const n of graphs.flatMap((gr) => gr.nodes)) {
    const t = n.input[0];
    if (n.opType !== 'Gather' || !t || !consts.isFloat(t) || !n.output[0] || !plan.tensors.has(n.output[0]) || excludedNode(n)) continue;
    let lo = 0, hi = 0;
    for (const v of consts.get(t)!.values) { if (v < lo) lo = v; if (v > hi) hi = v; }
    const p = activationParams(lo, hi, typeFor(lo));
    gatherTables.set(n, p);
    params.set(n.output[0], p);
  }
  for (const n of graphs.flatMap((gr) => gr.nodes)) {
    for (const o of n.output) {
      if (!o || !plan.tensors.has(o) || params.has(o)) continue;
      const x = n.input[0];
      if (VALUE_PRESERVING.has(n.opType) && x && params.has(x)) params.set(o, params.get(x)!);
      else setParams(o);
    }
  }

  const inits: OnnxTensor[] = [];
  const newNodes: OnnxNode[] = [];
  const dequantized: Record<string, string> = {};
  const tensorsInfo: QuantizedTensorInfo[] = [];
  const zpType = (t: ActivationType | 'int16'): 2 | 3 | 5 => (t === 'uint8' ? DataType.UINT8 : t === 'int16' ? DataType.INT16 : DataType.INT8);
  let usesContrib = false;
  const qdqPair = (name: string, p: QuantParams, into: OnnxNode[]): string => {
    const s = names.fresh(`${name}_scale`), z = names.fresh(`${name}_zero_point`);
    const q = names.fresh(`${name}_quantized`), dq = names.fresh(`${name}_dequantized`);
    inits.push(makeFloatTensor(s, [], [p.scale]), makeIntTensor(z, [], zpType(p.type), [p.zeroPoint]));
    const domain = p.type === 'int16' ? { domain: 'com.microsoft' } : {};
    if (p.type === 'int16') usesContrib = true;
    into.push({ ...makeNode('QuantizeLinear', [name, s, z], [q], names.fresh(`${name}_QuantizeLinear`)), ...domain });
    into.push({ ...makeNode('DequantizeLinear', [q, s, z], [dq], names.fresh(`${name}_DequantizeLinear`)), ...domain });
    return dq;
  };
  const constDq = (base: string, dims: number[], dt: 2 | 3 | 6, values: ArrayLike<number>, scales: ArrayLike<number>, axis: number, into: OnnxNode[]): string => {
    const q = names.fresh(`${base}_quantized`), s = names.fresh(`${base}_scale`), z = names.fresh(`${base}_zero_point`), dq = names.fresh(`${base}_dequantized`);
    const perAxis = axis >= 0;
    inits.push(makeIntTensor(q, dims, dt, values), makeFloatTensor(s, perAxis ? [scales.length] : [], scales),
      makeIntTensor(z, perAxis ? [scales.length] : [], dt, new Array<number>(scales.length).fill(0)));
    into.push(makeNode('DequantizeLinear', [q, s, z], [dq], names.fresh(`${base}_DequantizeLinear`), perAxis ? [intAttr('axis', axis)] : []));
    return dq;
  };

  const dqOf = new Map<string, string>();
  const emitActivation = (name: string, into: OnnxNode[] = newNodes): void => {
    const p = params.get(name)!;
    const dq = qdqPair(name, p, into);
    dqOf.set(name, dq);
    dequantized[name] = dq;
    const r = rangeOf(name);
    tensorsInfo.push({ name, type: p.type, scale: p.scale, zeroPoint: p.zeroPoint, min: r.min, max: r.max, dequantized: dq });
  };
  for (const i of idx.calibratable) if (i.isGraphInput && params.has(i.name)) emitActivation(i.name);

  const weights: QuantizedWeightInfo[] = [];
  const weightDq = new Map<string, { dq: string; scales: Float32Array }>();
  const constOperandDq = new Map<string, string>();
  const perChannel = opts.perChannel ?? true;
  /**
   * Rewrites one graph's nodes into `out` (the main graph's list, or a body's new list): Q/DQ after
   * each chosen activation, quantized weights, and every If/Loop/Scan body rewritten the same way
   * before its node (its outer-scope reads then see the dequantized values where those exist).
   */
  const rewrite = (nodes: readonly OnnxNode[], out: OnnxNode[], graphKey: string): void => nodes.forEach((n0) => {
    const n = rewriteBodies(n0);
    let input = n.input.map((x) => (x && dqOf.has(x) ? dqOf.get(x)! : x));
    if (plan.weighted.has(n)) {
      const wName = n.input[1]!;
      const w = consts.get(wName)!;
      const axis = perChannel ? weightAxis(n, w.dims.length) : -1;
      // Weights read by a 16-bit activation run in float kernels (no u8s8 overflow to avoid): full 8 bits.
      const wide16 = params.get(n.input[0] ?? '')?.type === 'int16';
      const key = `${graphKey}:${wName}@${axis}${wide16 ? '/16' : ''}`;
      let wq = weightDq.get(key);
      if (!wq) {
        const q = quantizeWeights(w.values, w.dims, axis, opts.reduceRange === false || wide16 ? 127 : 64);
        wq = { dq: constDq(wName, w.dims, DataType.INT8, q.values, q.scales, axis, out), scales: q.scales };
        weightDq.set(key, wq);
      }
      input[1] = wq.dq;
      const info: QuantizedWeightInfo = { node: namesOf.get(n0) ?? n.name ?? '', opType: n.opType, weight: wName, axis, channels: wq.scales.length };
      // Bias: int32 with scale = input scale × weight scale, when its shape is one per output channel.
      const bName = n.input[2];
      const b = bName ? consts.get(bName) : undefined;
      const xp = params.get(n.input[0] ?? '');
      const cout = axis >= 0 ? wq.scales.length : b?.values.length;
      const beta = n.attribute.find((a) => a.name === 'beta')?.f ?? 1;
      // A 16-bit input's scale is ~256× finer: the int32 bias could overflow, so it stays float.
      if (b && bName && xp && xp.type !== 'int16' && b.dims.length === 1 && b.values.length === cout && (n.opType !== 'Gemm' || beta === 1)) {
        const qb = quantizeBias(b.values, xp.scale, wq.scales);
        input[2] = constDq(bName, b.dims, DataType.INT32, qb.values, qb.scales, 0, out);
        info.bias = bName;
      }
      weights.push(info);
    }
    const tableParams = gatherTables.get(n0);
    if (tableParams) {
      const tName = n.input[0]!;
      const c = consts.get(tName)!;
      const p = tableParams;
      const q = Array.from(c.values, (v) => Math.min(p.type === 'uint8' ? 255 : 127, Math.max(p.type === 'uint8' ? 0 : -128, roundEven(v / p.scale) + p.zeroPoint)));
      const qn = names.fresh(`${tName}_quantized`), s = names.fresh(`${tName}_scale`), z = names.fresh(`${tName}_zero_point`), dq = names.fresh(`${tName}_dequantized`);
      inits.push(makeIntTensor(qn, c.dims, zpType(p.type), q), makeFloatTensor(s, [], [p.scale]), makeIntTensor(z, [], zpType(p.type), [p.zeroPoint]));
      out.push(makeNode('DequantizeLinear', [qn, s, z], [dq], names.fresh(`${tName}_DequantizeLinear`)));
      input[0] = dq;
      weights.push({ node: namesOf.get(n0) ?? n.name ?? '', opType: 'Gather', weight: tName, axis: -1, channels: 1 });
    }
    if (plan.constOperands.has(n)) {
      input = input.map((x, k) => {
        const orig = n.input[k]!;
        if (!orig || !consts.isFloat(orig)) return x;
        let dq = constOperandDq.get(`${graphKey}:${orig}`);
        if (!dq) {
          const c = consts.get(orig)!;
          let lo = 0, hi = 0;
          for (const v of c.values) { if (v < lo) lo = v; if (v > hi) hi = v; }
          const p = activationParams(lo, hi, typeFor(lo));
          const q = Array.from(c.values, (v) => Math.min(p.type === 'uint8' ? 255 : 127, Math.max(p.type === 'uint8' ? 0 : -128, roundEven(v / p.scale) + p.zeroPoint)));
          const qn = names.fresh(`${orig}_quantized`), s = names.fresh(`${orig}_scale`), z = names.fresh(`${orig}_zero_point`);
          dq = names.fresh(`${orig}_dequantized`);
          inits.push(makeIntTensor(qn, c.dims, zpType(p.type), q), makeFloatTensor(s, [], [p.scale]), makeIntTensor(z, [], zpType(p.type), [p.zeroPoint]));
          out.push(makeNode('DequantizeLinear', [qn, s, z], [dq], names.fresh(`${orig}_DequantizeLinear`)));
          constOperandDq.set(`${graphKey}:${orig}`, dq);
        }
        return dq;
      });
    }
    out.push(input.every((x, k) => x === n.input[k]) ? n : { ...n, input });
    for (const o of n.output) if (o && params.has(o)) emitActivation(o, out);
  });
  const rewriteBodies = (n: OnnxNode): OnnxNode => {
    if (!n.attribute?.some((a) => a.g || a.graphs?.length)) return n;
    const body = (sg: OnnxGraph): OnnxGraph => {
      const info = subgraphOf.get(sg);
      const out: OnnxNode[] = [];
      // A body's own float inputs (loop-carried values, scan slices) are quantized where they enter.
      for (const i of sg.input) if (params.has(i.name)) emitActivation(i.name, out);
      rewrite(sg.node, out, info?.path ?? sg.name ?? '?');
      return { ...sg, node: out };
    };
    return { ...n, attribute: n.attribute.map((a) => (a.g ? { ...a, g: body(a.g) } : a.graphs?.length ? { ...a, graphs: a.graphs.map(body) } : a)) };
  };
  rewrite(idx.nodes, newNodes, '');

  // Graph outputs keep the float value their producer computes (names and types unchanged);
  // Constant nodes whose value was replaced by a quantized initializer are dropped.
  const used = new Set<string>([...graphOutputs]);
  const markUsed = (nodes: readonly OnnxNode[]): void => {
    for (const n of nodes) {
      for (const i of n.input) if (i) used.add(i);
      for (const sg of subgraphsOf(n)) { for (const o of sg.graph.output) used.add(o.name); markUsed(sg.graph.node); }
    }
  };
  markUsed(newNodes);
  const dropUnused = (nodes: readonly OnnxNode[]): OnnxNode[] => nodes.filter((n) => n.opType !== 'Constant' || n.output.some((o) => used.has(o))).map((n) => {
    if (!subgraphsOf(n).length) return n;
    return { ...n, attribute: n.attribute.map((a) => (a.g ? { ...a, g: { ...a.g, node: dropUnused(a.g.node) } } : a.graphs?.length ? { ...a, graphs: a.graphs.map((x) => ({ ...x, node: dropUnused(x.node) })) } : a)) };
  });
  const finalNodes = dropUnused(newNodes);
  const usedInits = [...g.initializer, ...inits].filter((t) => used.has(t.name ?? ''));

  const clampedAt = Object.fromEntries(saturated.filter((r) => plan.tensors.has(r.tensor) && (r.live[0] > -Infinity || r.live[1] < Infinity))
    .map((r) => [r.tensor, r.live.map((v) => (Number.isFinite(v) ? v : null))]));
  const metadataProps = [...(work.metadataProps ?? []).filter((m) => m.key !== DEQUANTIZED_METADATA_KEY && m.key !== SATURATED_METADATA_KEY),
    { key: DEQUANTIZED_METADATA_KEY, value: JSON.stringify(dequantized) },
    ...(Object.keys(clampedAt).length ? [{ key: SATURATED_METADATA_KEY, value: JSON.stringify(clampedAt) }] : [])];
  const opsetImport = usesContrib && !(work.opsetImport ?? []).some((o) => o.domain === 'com.microsoft') ? [...(work.opsetImport ?? []), { domain: 'com.microsoft', version: 1 }] : work.opsetImport;
  const out: OnnxModel = { ...work, ...(opsetImport ? { opsetImport } : {}), metadataProps, graph: { ...g, node: finalNodes, initializer: usedInits } };
  return {
    model: out,
    report: {
      quantizeMode: mode,
      activationType: actType,
      opset: { from: up.from, to: Math.max(up.to, opsetVersion(out)), converted: up.converted },
      foldedBatchNorms: fold.folded,
      tensors: tensorsInfo,
      weights,
      skipped: [...skipped].map(([name, reason]) => ({ name, reason })),
      dequantized,
      saturated: saturated.filter((r) => plan.tensors.has(r.tensor)),
      fusedActivations: { chains: chains.length, floatTensors: chainOf.size, replaced },
      ...(idx.subgraphs.length ? { inBodies: {
        activations: tensorsInfo.filter((t) => (idx.tensors.get(t.name)?.graphPath ?? '') !== '').length,
        weights: weights.filter((w) => !idx.nodeNames.includes(w.node)).length,
      } } : {}),
    },
  };
}

/** One plan from the plans of each graph (main and bodies): unions, and the skip reasons of what none chose. */
function mergePlans(plans: readonly QdqPlan[], ranged: ReadonlySet<string>): QdqPlan {
  const merged: QdqPlan = { tensors: new Set(), weighted: new Set(), constOperands: new Set(), skipped: new Map() };
  for (const p of plans) {
    for (const t of p.tensors) merged.tensors.add(t);
    for (const n of p.weighted) merged.weighted.add(n);
    for (const n of p.constOperands) merged.constOperands.add(n);
  }
  for (const t of ranged) if (!merged.tensors.has(t)) merged.skipped.set(t, plans[0]?.skipped.get(t) ?? 'smart mode: not an input or output of an op onnxruntime runs in integer arithmetic');
  return merged;
}
