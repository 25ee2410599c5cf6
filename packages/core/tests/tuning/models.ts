import { DataType, type OnnxModel, type OnnxNode, type OnnxTensor } from '../../src/onnx/model';
import type { FeedTensor } from '../../src/tensor';
import type { DataSource } from '../../src/data';

/** Small hand-built ONNX models for the tuning tests: NCHW tensors [1, C, 1, W]. */
export const f32 = (name: string, dims: number[], values: number[]): OnnxTensor => ({
  name, dims, dataType: DataType.FLOAT, rawData: new Uint8Array(Float32Array.from(values).buffer),
});
export const constant = (name: string, t: OnnxTensor): OnnxNode => ({
  opType: 'Constant', input: [], output: [name], name: `${name}_const`, attribute: [{ name: 'value', type: 4, t: { ...t, name } }],
});
export const node = (opType: string, input: string[], output: string[], name: string, attribute: OnnxNode['attribute'] = []): OnnxNode => ({ opType, input, output, name, attribute });
/** A 1x1 Conv with weights `w[out][in]` given as a Constant node (as PP-OCR stores weights). */
export function conv1x1(name: string, input: string, output: string, w: number[][], bias?: number[]): OnnxNode[] {
  const m = w.length;
  const c = w[0]!.length;
  const nodes = [constant(`${name}_w`, f32(`${name}_w`, [m, c, 1, 1], w.flat()))];
  if (bias) nodes.push(constant(`${name}_b`, f32(`${name}_b`, [m], bias)));
  nodes.push(node('Conv', [input, `${name}_w`, ...(bias ? [`${name}_b`] : [])], [output], name));
  return nodes;
}
export function makeModel(nodes: OnnxNode[], inputs: string[], outputs: string[], opset = 11, inputChannels = 1): OnnxModel {
  const vi = (n: string, c?: number) => ({ name: n, type: { tensorType: { elemType: DataType.FLOAT, ...(c ? { shape: { dim: [{ dimParam: 'N' }, { dimValue: c }, { dimValue: 1 }, { dimParam: 'W' }] } } : {}) } } });
  return {
    irVersion: 7,
    opsetImport: [{ domain: '', version: opset }],
    graph: { name: 'g', node: nodes, initializer: [], input: inputs.map((n) => vi(n, inputChannels)), output: outputs.map((n) => vi(n)), valueInfo: [] },
  };
}
/** A re-iterable programmatic data source over fixed samples of input `x`. */
export function samplesOf(samples: Float32Array[], name = 'x', channels = 1): DataSource {
  return {
    async *[Symbol.asyncIterator]() {
      for (const s of samples) {
        const feed: FeedTensor = { type: 'float32', data: s, dims: [1, channels, 1, s.length / channels] };
        yield { [name]: feed };
      }
    },
  };
}
/** Deterministic pseudo-random numbers in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}
