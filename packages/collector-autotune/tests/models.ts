import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataType, encodeModel, type DataSource, type FeedTensor, type OnnxModel, type OnnxNode, type OnnxTensor } from '@qcal/core';

/** Small hand-built models on [1, 1, 1, W] tensors, written to a temp dir (calibrate reads a file). */
const f32 = (name: string, dims: number[], values: number[]): OnnxTensor => ({
  name, dims, dataType: DataType.FLOAT, rawData: new Uint8Array(Float32Array.from(values).buffer),
});
export const constant = (name: string, dims: number[], values: number[]): OnnxNode => ({
  opType: 'Constant', input: [], output: [name], name: `${name}_const`, attribute: [{ name: 'value', type: 4, t: f32(name, dims, values) }],
});
export const node = (opType: string, input: string[], output: string[], name: string): OnnxNode => ({ opType, input, output, name, attribute: [] });
/** y = w · x as a 1x1 Conv, 1 channel in and out. */
export const scale = (name: string, input: string, output: string, w: number): OnnxNode[] => [
  constant(`${name}_w`, [1, 1, 1, 1], [w]),
  node('Conv', [input, `${name}_w`], [output], name),
];
/** Clip to [lo, hi] (opset 11: bounds as inputs). */
export const clip = (name: string, input: string, output: string, lo: number, hi: number): OnnxNode[] => [
  constant(`${name}_lo`, [], [lo]),
  constant(`${name}_hi`, [], [hi]),
  node('Clip', [input, `${name}_lo`, `${name}_hi`], [output], name),
];

export function writeModel(nodes: OnnxNode[], outputs: string[]): string {
  const vi = (n: string) => ({ name: n, type: { tensorType: { elemType: DataType.FLOAT } } });
  const model: OnnxModel = {
    irVersion: 7,
    opsetImport: [{ domain: '', version: 11 }],
    graph: {
      name: 'g', node: nodes, initializer: [], valueInfo: [], output: outputs.map(vi),
      input: [{ name: 'x', type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: 1 }, { dimValue: 1 }, { dimParam: 'W' }] } } } }],
    },
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qcal-autotune-'));
  const file = path.join(dir, 'model.onnx');
  fs.writeFileSync(file, encodeModel(model));
  return file;
}

/**
 * Samples of 200 values uniform in [-1, 1] with one outlier of 10 each: the outlier matters to an
 * op that passes it on (cost of clipping it ≫ rounding noise), not to one that clips at 1 anyway.
 */
export function outlierSamples(n: number, seed = 3): DataSource {
  return {
    async *[Symbol.asyncIterator]() {
      let s = seed;
      for (let k = 0; k < n; k++) {
        const data = Float32Array.from({ length: 200 }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296) * 2 - 1);
        data[17 + k] = 10;
        const feed: FeedTensor = { type: 'float32', data, dims: [1, 1, 1, 200] };
        yield { x: feed };
      }
    },
  };
}
