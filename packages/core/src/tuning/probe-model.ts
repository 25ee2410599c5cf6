import { DataType, makeFloatTensor, opsetVersion, type OnnxModel, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from '../onnx/model';
import { NameScope, floatAttr, int64Vector, intAttr, intsAttr, makeNode } from '../onnx/graph-builder';
import type { OpModel } from './op-model';

/**
 * 1.5·2^23: for |y| < 2^22, `(y + MAGIC) − MAGIC` in float32 is y rounded half to even (the
 * float32 ulp at MAGIC is 1): how the probe rounds like numpy/`roundHalfEven` below opset 11,
 * which has no Round (the PP-OCRv4 recognizer is opset 9).
 */
const MAGIC = 12582912;

/** Feeds and fetches of a {@link TuneProbe}, by role. */
export interface TuneProbe {
  readonly model: OnnxModel;
  /** Candidates stacked on dim 0 (true) or one candidate per run (false). */
  readonly stacked: boolean;
  /** The tuned tensor. */
  readonly tensor: string;
  /** Where its FP32 values are fed. */
  readonly xInput: string;
  /** float32 [K, 1]: 127/T per candidate (as `fakeQuantActivation` computes it). */
  readonly scaleInput: string;
  /** int64: the shape of the fake-quantized tensor: stacked `[-1, ...dims[1:]]`, single `dims`. */
  readonly shapeInput: string;
  /** Stacked only: the other activation inputs, repeated K times in-graph (fed as `input`, Expand to `expandShape`, Reshape to `reshape`). */
  readonly others: readonly { readonly name: string; readonly input: string; readonly expandShape: string; readonly reshape: string }[];
  /** Per op output: its FP32 reference (fed), the `[-1, M]` shape input, and the fetches ‖ref − out‖₂² per candidate (double [K]) and the output's shape. */
  readonly outputs: readonly { readonly name: string; readonly ref: string; readonly rows: string; readonly sq: string; readonly shape: string }[];
}

/**
 * The op model of `op` with auto-tune's per-value work moved into onnxruntime, so JavaScript
 * touches no activation value per candidate: the tuned input `tensor` is fake-quantized in-graph
 * at K candidate scales at once (Mul by 127/T, round half to even, clip to [-128, 127], Div
 * — the float32 operations of `fakeQuantActivation` in the same order, so the same values up to
 * the sign of a zero), the candidates stacked on dim 0 when `stacked` (other activation inputs
 * repeated K times), and the op's outputs compared with the FP32 reference in double precision:
 * the fetches are Σ(ref − out)² per candidate (`ReduceSumSquare` of the double difference, as
 * `accumulateDistance` sums, in another order) and the output shapes (to check stacking).
 * Needs opset ≥ 8 (Expand; broadcasting Max/Min).
 */
export function buildTuneProbe(op: OpModel, tensor: string, stacked: boolean): TuneProbe {
  const g = op.model.graph!;
  const opset = opsetVersion(op.model);
  const names = new NameScope(g);
  const nodes: OnnxNode[] = [];
  const inits: OnnxTensor[] = [];
  const inputs: OnnxValueInfo[] = [];
  const fresh = (base: string): string => names.fresh(`${base}__qcal`);
  const node = (opType: string, ins: string[], out: string, attrs: Parameters<typeof makeNode>[4] = []): string => {
    nodes.push(makeNode(opType, ins, [out], fresh(`${out}_${opType}`), attrs));
    return out;
  };
  const constF = (v: number): string => { const n = fresh(`c${v}`); inits.push(makeFloatTensor(n, [], [v])); return n; };
  const constI = (v: readonly number[]): string => { const n = fresh('shape'); inits.push(int64Vector(n, v)); return n; };
  const input = (name: string, elemType: number): string => { inputs.push({ name, type: { tensorType: { elemType } } }); return name; };
  const rowShape = constI([1, -1]);

  // Fake quantization of the tuned tensor, K candidates along a new leading axis.
  const xIn = input(fresh(`${tensor}_fp32`), DataType.FLOAT);
  const scaleInput = input(fresh('scale'), DataType.FLOAT);
  const shapeInput = input(fresh(`${tensor}_shape`), DataType.INT64);
  let y = node('Reshape', [xIn, rowShape], fresh('x_row'));
  y = node('Mul', [y, scaleInput], fresh('scaled'));
  const clip = (v: string, lo: number, hi: number, out: string): string => (opset >= 11
    ? node('Clip', [v, constF(lo), constF(hi)], out)
    : node('Clip', [v], out, [floatAttr('min', lo), floatAttr('max', hi)]));
  if (opset >= 11) {
    y = node('Round', [y], fresh('rounded')); // half to even, as numpy
  } else {
    // Values beyond ±129 round to beyond the int8 range anyway; clipping first keeps the rounding trick exact.
    y = clip(y, -129, 128, fresh('bounded'));
    const magic = constF(MAGIC);
    y = node('Sub', [node('Add', [y, magic], fresh('shifted')), magic], fresh('rounded'));
  }
  y = clip(y, -128, 127, fresh('q'));
  y = node('Div', [y, scaleInput], fresh('dequantized'));
  nodes.push(makeNode('Reshape', [y, shapeInput], [tensor], fresh(`${tensor}_fq_Reshape`)));

  const others: { name: string; input: string; expandShape: string; reshape: string }[] = [];
  for (const name of op.activationInputs) {
    if (name === tensor) continue;
    const vi = g.input.find((i) => i.name === name)!;
    if (!stacked) { inputs.push(vi); continue; }
    const o = { name, input: input(fresh(`${name}_fp32`), vi.type?.tensorType?.elemType ?? DataType.FLOAT), expandShape: input(fresh(`${name}_expand`), DataType.INT64), reshape: input(fresh(`${name}_shape`), DataType.INT64) };
    const row = node('Reshape', [o.input, rowShape], fresh(`${name}_row`));
    const rep = node('Expand', [row, o.expandShape], fresh(`${name}_repeated`));
    nodes.push(makeNode('Reshape', [rep, o.reshape], [name], fresh(`${name}_Reshape`)));
    others.push(o);
  }

  // The node itself (and its constants), unchanged.
  nodes.push(...g.node);

  const outputs: { name: string; ref: string; rows: string; sq: string; shape: string }[] = [];
  const fetches: OnnxValueInfo[] = [];
  for (const o of op.outputs) {
    const ref = input(fresh(`${o}_ref`), DataType.FLOAT);
    const rows = input(fresh(`${o}_rows`), DataType.INT64);
    const got = node('Cast', [node('Reshape', [o, rows], fresh(`${o}_rows`))], fresh(`${o}_f64`), [intAttr('to', DataType.DOUBLE)]);
    const want = node('Cast', [node('Reshape', [ref, rowShape], fresh(`${o}_ref_row`))], fresh(`${o}_ref_f64`), [intAttr('to', DataType.DOUBLE)]);
    const diff = node('Sub', [want, got], fresh(`${o}_diff`));
    const sq = fresh(`${o}_sq`);
    if (opset >= 18) node('ReduceSumSquare', [diff, constI([1])], sq, [intAttr('keepdims', 0)]);
    else node('ReduceSumSquare', [diff], sq, [intsAttr('axes', [1]), intAttr('keepdims', 0)]);
    const shape = node('Shape', [o], fresh(`${o}_dims`));
    fetches.push({ name: sq, type: { tensorType: { elemType: DataType.DOUBLE } } }, { name: shape, type: { tensorType: { elemType: DataType.INT64 } } });
    outputs.push({ name: o, ref, rows, sq, shape });
  }
  const model: OnnxModel = {
    ...op.model,
    graph: { ...g, name: `${g.name}_probe`, node: nodes, initializer: [...g.initializer, ...inits], input: inputs, output: fetches, valueInfo: [] },
  };
  return { model, stacked, tensor, xInput: xIn, scaleInput, shapeInput, others, outputs };
}
