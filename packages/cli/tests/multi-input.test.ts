import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeModel, writeNpy, writeNpz, DataType, type OnnxModel } from '@qcal/core';
import { qcal, tmpDir, readJson } from './helpers';

/** y = Relu(a + b), with a: [1, 4] and b: [1, 4] float inputs. */
function twoInputModel(): OnnxModel {
  const input = (name: string) => ({ name, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimValue: 1 }, { dimValue: 4 }] } } } });
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'two_inputs',
      node: [
        { input: ['a', 'b'], output: ['s'], name: 'add', opType: 'Add', attribute: [] },
        { input: ['s'], output: ['y'], name: 'relu', opType: 'Relu', attribute: [] },
      ],
      initializer: [],
      input: [input('a'), input('b')],
      output: [{ name: 'y', type: { tensorType: { elemType: DataType.FLOAT } } }],
      valueInfo: [],
    },
  };
}

const A = [[1, -2, 3, -4], [0.5, 0.5, -8, 2]];
const B = [[-1, 1, 1, 10], [2, -3, 0, 0]];

describe('a two-input model, end to end', () => {
  it.each(['npz', 'list'])('calibrates from %s data: every tensor matches the hand computation', async (kind) => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'm.onnx'), encodeModel(twoInputModel()));
    fs.mkdirSync(path.join(dir, 'data'));
    const lines: string[] = [];
    A.forEach((a, i) => {
      const na = writeNpy(Float32Array.from(a), [1, 4], 'float32');
      const nb = writeNpy(Float32Array.from(B[i]!), [1, 4], 'float32');
      if (kind === 'npz') fs.writeFileSync(path.join(dir, 'data', `s${i}.npz`), writeNpz({ a: na, b: nb }));
      else {
        fs.writeFileSync(path.join(dir, 'data', `a${i}.npy`), na);
        fs.writeFileSync(path.join(dir, 'data', `b${i}.npy`), nb);
        lines.push(`data/a${i}.npy,data/b${i}.npy`);
      }
    });
    if (kind === 'list') fs.writeFileSync(path.join(dir, 'list.txt'), `# a, b\n${lines.join('\n')}\n`);
    const r = await qcal(['calibrate', '--model', 'm.onnx', '--data', kind === 'npz' ? 'data' : 'list.txt', '--out', 'out', '--quiet'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const t = readJson(path.join(dir, 'out', 'minmax.table.json')).tensors;
    // s = a + b: [0, -1, 4, 6] and [2.5, -2.5, -8, 2]; y = relu(s).
    expect(t.a).toMatchObject({ min: -8, max: 3, opType: 'Input' });
    expect(t.b).toMatchObject({ min: -3, max: 10 });
    expect(t.s).toMatchObject({ min: -8, max: 6, op: 'add' });
    expect(t.y).toMatchObject({ min: 0, max: 6, op: 'relu' });
  });

  it('a list line missing the second input is a clear error naming the list line', async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'm.onnx'), encodeModel(twoInputModel()));
    fs.writeFileSync(path.join(dir, 'a.npy'), writeNpy(Float32Array.from(A[0]!), [1, 4], 'float32'));
    fs.writeFileSync(path.join(dir, 'list.txt'), 'a.npy\n');
    const r = await qcal(['calibrate', '--model', 'm.onnx', '--data', 'list.txt', '--out', 'out'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/list\.txt/);
    expect(fs.existsSync(path.join(dir, 'out'))).toBe(false);
  });
});
