import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeModel, writeNpy, DataType, type OnnxModel, type OnnxNode } from '@qcal/core';

/** y = Relu(x · W) with x: [1, 4], W: 4×4 (0.5 on the diagonal, -0.25 elsewhere). A few hundred bytes. */
export function tinyModel(): OnnxModel {
  const w = Array.from({ length: 16 }, (_, i) => (i % 5 === 0 ? 0.5 : -0.25));
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'tiny',
      node: [
        { input: ['x', 'W'], output: ['h'], name: 'matmul', opType: 'MatMul', attribute: [] },
        { input: ['h'], output: ['y'], name: 'relu', opType: 'Relu', attribute: [] },
      ],
      initializer: [{ name: 'W', dims: [4, 4], dataType: DataType.FLOAT, floatData: w }],
      input: [{ name: 'x', type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimValue: 1 }, { dimValue: 4 }] } } } }],
      output: [{ name: 'y', type: { tensorType: { elemType: DataType.FLOAT } } }],
      valueInfo: [],
    },
  } as OnnxModel;
}

/** A node of the test graphs below (named after its op and first output). */
export const opNode = (opType: string, input: string[], output: string[]): OnnxNode => ({ opType, input, output, name: `${opType}_${output[0]}`, attribute: [] });

/** x [1, w] → y = x·x (1e20² overflows float32 to +Infinity) → z = Relu(y): non-finite activations on demand. */
export function squareReluModel(w: number): OnnxModel {
  const vi = (n: string) => ({ name: n, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimValue: 1 }, { dimValue: w }] } } } });
  return {
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    graph: { name: 'g', node: [opNode('Mul', ['x', 'x'], ['y']), opNode('Relu', ['y'], ['z'])], initializer: [], input: [vi('x')], output: [vi('z')], valueInfo: [] },
  } as OnnxModel;
}

/** Writes tiny.onnx and `n` samples (data/s<i>.npy, x = [i, -i, i/2, 1]) into dir. */
export function writeTinyProject(dir: string, n = 3): void {
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'tiny.onnx'), encodeModel(tinyModel()));
  for (let i = 0; i < n; i++) {
    fs.writeFileSync(path.join(dir, 'data', `s${i}.npy`), writeNpy(Float32Array.from([i + 1, -(i + 1), (i + 1) / 2, 1]), [1, 4], 'float32'));
  }
}
