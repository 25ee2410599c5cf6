import { DataType, getAttribute, tensorDims, tensorToFloat32, type OnnxGraph, type OnnxTensor } from '../onnx/model';

/** A constant float tensor of the graph: an initializer or the output of a Constant node. */
export interface ConstantValue {
  readonly dims: number[];
  readonly values: Float32Array;
}

/**
 * The float32 constants of a graph by tensor name. PP-OCR's paddle2onnx exports hold every weight
 * as a Constant node and no initializer; both forms are treated alike (values decoded lazily).
 */
export class Constants {
  private readonly tensors = new Map<string, OnnxTensor>();
  private readonly cache = new Map<string, ConstantValue>();
  /** The constants of `graph` and of every If/Loop/Scan body in it (names are unique model-wide). */
  constructor(graph: OnnxGraph) {
    this.add(graph);
  }
  private add(graph: OnnxGraph): void {
    for (const t of graph.initializer) if (t.name) this.tensors.set(t.name, t);
    for (const n of graph.node) {
      for (const a of n.attribute ?? []) { if (a.g) this.add(a.g); for (const sg of a.graphs ?? []) this.add(sg); }
      if (n.opType !== 'Constant' || !n.output[0]) continue;
      const v = getAttribute(n, 'value')?.t;
      if (v) this.tensors.set(n.output[0], v);
      const f = getAttribute(n, 'value_float');
      if (f && typeof f.f === 'number') this.tensors.set(n.output[0], { dims: [], dataType: DataType.FLOAT, floatData: [f.f] });
      const fs = getAttribute(n, 'value_floats');
      if (fs?.floats) this.tensors.set(n.output[0], { dims: [fs.floats.length], dataType: DataType.FLOAT, floatData: fs.floats });
    }
  }
  /** Is `name` a constant (initializer or Constant output) of element type float32? */
  isFloat(name: string): boolean {
    return this.tensors.get(name)?.dataType === DataType.FLOAT;
  }
  /** The float32 value of a constant, or undefined when `name` is not a float constant. */
  get(name: string): ConstantValue | undefined {
    if (!this.isFloat(name)) return undefined;
    let v = this.cache.get(name);
    if (!v) {
      const t = this.tensors.get(name)!;
      v = { dims: tensorDims(t), values: tensorToFloat32(t, name) };
      this.cache.set(name, v);
    }
    return v;
  }
}
