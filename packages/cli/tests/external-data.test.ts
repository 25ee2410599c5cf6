import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeModel, decodeModel, loadModel, quantizeFile, writeNpy, DataType, makeFloatTensor, type OnnxModel, type OnnxTensor } from '@qcal/core';
import { qcal, tmpDir, readJson, rng } from './helpers';

/** A float tensor whose bytes go to `file` at the current end (ONNX external data). */
function external(name: string, dims: number[], values: Float32Array, dir: string, file: string): OnnxTensor {
  const p = path.join(dir, file);
  const offset = fs.existsSync(p) ? fs.statSync(p).size : 0;
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.appendFileSync(p, Buffer.from(values.buffer, values.byteOffset, values.byteLength));
  return { name, dims, dataType: DataType.FLOAT, dataLocation: 1, externalData: [{ key: 'location', value: file }, { key: 'offset', value: String(offset) }, { key: 'length', value: String(values.byteLength) }] };
}

const rand = (n: number, seed: number) => { const r = rng(seed); return Float32Array.from({ length: n }, () => r() * 2 - 1); };

/** y = MatMul(Relu(MatMul(x, W1) + b1), W2): weights in external data files (`file` for W1/b1, data/w2.bin for W2). */
function mlp(dir: string, file = 'weights.bin'): OnnxModel {
  const vi = (name: string, dims: (number | string)[]) => ({ name, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } } });
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'mlp_external',
      node: [
        { input: ['x', 'W1'], output: ['h'], name: 'fc1', opType: 'MatMul', attribute: [] },
        { input: ['h', 'b1'], output: ['hb'], name: 'bias1', opType: 'Add', attribute: [] },
        { input: ['hb'], output: ['r'], name: 'relu', opType: 'Relu', attribute: [] },
        { input: ['r', 'W2'], output: ['y'], name: 'fc2', opType: 'MatMul', attribute: [] },
      ],
      initializer: [external('W1', [8, 256], rand(2048, 1), dir, file), external('b1', [256], rand(256, 2), dir, file), external('W2', [256, 4], rand(1024, 3), dir, 'data/w2.bin')],
      input: [vi('x', ['batch', 8])],
      output: [vi('y', ['batch', 4])],
      valueInfo: [],
    },
  };
}

function writeData(dir: string, n: number, seed: number): void {
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) fs.writeFileSync(path.join(dir, `s${i}.npy`), writeNpy(rand(8, seed + i), [8], 'float32'));
}

describe('models with external data', () => {
  it('loads without reading the weights, calibrates, and writes the QDQ model with its own external data file', async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'm.onnx'), encodeModel(mlp(dir)));
    const { model } = loadModel(path.join(dir, 'm.onnx'));
    expect(model.graph!.initializer.every((t) => !t.rawData?.length)).toBe(true);
    writeData(path.join(dir, 'calib'), 16, 10);
    writeData(path.join(dir, 'eval'), 8, 100);
    const r = await qcal(['calibrate', '--model', 'm.onnx', '--data', 'calib', '--eval-data', 'eval', '--qdq', '--evaluate', '--collector', 'minmax', '--out', 'out', '--quiet'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const q = decodeModel(fs.readFileSync(path.join(dir, 'out', 'minmax.qdq.onnx')));
    const ext = q.graph!.initializer.filter((t) => t.externalData?.length);
    // W1 as int8 (2 KB) is past the 1 KB threshold: it goes to the QDQ model's own data file.
    expect(ext.length).toBeGreaterThan(0);
    expect(ext.every((t) => t.externalData!.find((e) => e.key === 'location')!.value === 'minmax.qdq.onnx.data')).toBe(true);
    expect(fs.existsSync(path.join(dir, 'out', 'minmax.qdq.onnx.data'))).toBe(true);
    const ev = readJson(path.join(dir, 'out', 'minmax.evaluation.json'));
    expect(ev.outputs[0].cosine).toBeGreaterThan(0.99);
    // The written model loads on its own, from its own folder.
    const again = await qcal(['evaluate', '--model', 'm.onnx', '--qdq', 'out/minmax.qdq.onnx', '--data', 'eval', '--quiet'], dir);
    expect(again.code).toBe(0);
  });

  it.each([
    ['../outside.bin', /leads outside the model's folder/],
    ['/etc/passwd', /absolute path.*refused/],
    ['missing.bin', /external data file "missing.bin" not found/],
  ])('refuses the location %s', async (location, re) => {
    const dir = tmpDir();
    const sub = path.join(dir, 'model');
    fs.mkdirSync(sub);
    const m = mlp(sub);
    if (location === '../outside.bin') fs.writeFileSync(path.join(dir, 'outside.bin'), Buffer.alloc(4096));
    m.graph!.initializer[0]!.externalData![0]!.value = location;
    fs.writeFileSync(path.join(sub, 'm.onnx'), encodeModel(m));
    writeData(path.join(dir, 'calib'), 2, 10);
    const r = await qcal(['calibrate', '--model', 'model/m.onnx', '--data', 'calib', '--out', 'out', '--quiet'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(re);
    expect(r.stderr).toContain('"W1"');
  });

  it('an embedded model past the size limit is written with external data (threshold lowered to test the path)', async () => {
    const dir = tmpDir();
    const m = mlp(dir);
    // Embed the weights: read them back through the loader, as raw_data.
    fs.writeFileSync(path.join(dir, 'm.onnx'), encodeModel(m));
    const { model } = loadModel(path.join(dir, 'm.onnx'));
    const { tensorToFloat32 } = await import('@qcal/core');
    const embedded: OnnxModel = { ...model, graph: { ...model.graph!, initializer: model.graph!.initializer.map((t) => makeFloatTensor(t.name!, t.dims!.map(Number), tensorToFloat32(t))) } };
    const table = { collector: 'minmax', options: {}, model: 'm', samples: 1, tensors: { x: { op: '', min: -1, max: 1 }, h: { op: 'fc1', min: -3, max: 3 }, hb: { op: 'bias1', min: -3, max: 3 }, r: { op: 'relu', min: 0, max: 3 }, y: { op: 'fc2', min: -5, max: 5 } } };
    const out = path.join(dir, 'q.onnx');
    await quantizeFile({ model: embedded, table, outPath: out, externalDataThreshold: 0 });
    expect(fs.statSync(`${out}.data`).size).toBeGreaterThan(0);
    const q = loadModel(out).model;
    expect(q.graph!.initializer.some((t) => t.externalData?.length)).toBe(true);
  });
});
