import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeModel, writeNpy } from '@qcal/core';
import { CLS_MODEL, TINY_TRANSFORMER, TINY_TRANSFORMER_DIR } from '../../../test-support/paths';
import { qcal, tmpDir, rng, readJson } from './helpers';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const ds = require(path.join(TINY_TRANSFORMER_DIR, 'dataset.js')) as { CALIB_SEED: number; makeSamples(seed: number, n: number): { ids: number[] }[] };

const passesOf = (file: string) => JSON.parse(decodeModel(fs.readFileSync(file)).metadataProps!.find((p) => p.key === 'qcal.passes')!.value!);

describe('calibrate --smooth-quant / --cross-layer-equalization', () => {
  it('SmoothQuant on the tiny transformer: recorded in the QDQ metadata and the table meta; alpha from flag or config, checked', async () => {
    const dir = tmpDir();
    fs.mkdirSync(path.join(dir, 'calib'));
    ds.makeSamples(ds.CALIB_SEED, 8).forEach((s, i) => fs.writeFileSync(path.join(dir, 'calib', `s${i}.npy`), writeNpy(BigInt64Array.from(s.ids.map(BigInt)), [s.ids.length], 'int64')));
    const r = await qcal(['calibrate', '--model', TINY_TRANSFORMER, '--data', 'calib', '--collector', 'minmax', '--qdq', '--smooth-quant-alpha', '0.6', '--out', 'out'], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/smooth-quant on 4 MatMul inputs/);
    // Four LayerNorm outputs (q/k/v, fc1 of each layer) absorb 1/s; the others would need a float Mul.
    const passes = passesOf(path.join(dir, 'out', 'minmax.qdq.onnx'));
    expect(passes).toContainEqual({ name: 'smooth-quant', summary: { sites: 4, folded: 4, insertedMul: 0, alpha: 0.6, samples: 8 } });
    const table = readJson(path.join(dir, 'out', 'minmax.table.json'));
    expect(table.meta.qdqPasses).toEqual(passes);
    // The table keeps the FP32 model's ranges (it stays valid for any tool).
    const again = await qcal(['calibrate', '--model', TINY_TRANSFORMER, '--data', 'calib', '--collector', 'minmax', '--out', 'plain', '--quiet'], dir);
    expect(again.code).toBe(0);
    expect(table.tensors).toEqual(readJson(path.join(dir, 'plain', 'minmax.table.json')).tensors);

    // qcal quantize runs the same passes on a table made elsewhere, reading --data.
    const qz = await qcal(['quantize', '--model', TINY_TRANSFORMER, '--table', 'plain/minmax.table.json', '--out', 'q.onnx', '--data', 'calib', '--smooth-quant', '--num-samples', '5'], dir);
    expect(qz.code).toBe(0);
    expect(passesOf(path.join(dir, 'q.onnx'))).toContainEqual({ name: 'smooth-quant', summary: { sites: 4, folded: 4, insertedMul: 0, alpha: 0.5, samples: 5 } });
    const noData = await qcal(['quantize', '--model', TINY_TRANSFORMER, '--table', 'plain/minmax.table.json', '--out', 'q2.onnx', '--isotone'], dir);
    expect(noData.code).toBe(2);
    expect(noData.stderr).toMatch(/measure the model on calibration samples: give them with --data/);
    const unused = await qcal(['quantize', '--model', TINY_TRANSFORMER, '--table', 'plain/minmax.table.json', '--out', 'q2.onnx', '--data', 'calib'], dir);
    expect(unused.code).toBe(2);
    expect(unused.stderr).toMatch(/--data is only read by the passes that measure/);

    const badFlag = await qcal(['calibrate', '--model', TINY_TRANSFORMER, '--data', 'calib', '--qdq', '--smooth-quant-alpha', '1.5'], dir);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toMatch(/--smooth-quant-alpha expects a number in \[0, 1\]/);
    fs.writeFileSync(path.join(dir, 'qcal.config.json'), JSON.stringify({ smoothQuant: { alpha: 2, mul: true }, crossLayerEqualization: 'on' }));
    const bad = await qcal(['calibrate', '--model', TINY_TRANSFORMER, '--data', 'calib', '--qdq'], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/smoothQuant: found .*expected true, false, or \{ "alpha"/);
    expect(bad.stderr).toMatch(/crossLayerEqualization: found "on", expected true or false/);
  });

  it('cross-layer equalization on the PP-OCR classifier (its Relu blocks): pairs recorded', async () => {
    const dir = tmpDir();
    fs.mkdirSync(path.join(dir, 'data'));
    const r0 = rng(9);
    for (let i = 0; i < 3; i++) {
      const a = Float32Array.from({ length: 3 * 48 * 192 }, (_, j) => 0.8 * Math.sin(j / 30) + 0.4 * (r0() - 0.5));
      fs.writeFileSync(path.join(dir, 'data', `s${i}.npy`), writeNpy(a, [1, 3, 48, 192], 'float32'));
    }
    fs.writeFileSync(path.join(dir, 'qcal.config.json'), JSON.stringify({ crossLayerEqualization: true }));
    const r = await qcal(['calibrate', '--model', CLS_MODEL, '--data', 'data', '--out', 'out', '--collector', 'minmax', '--qdq'], dir);
    expect(r.code).toBe(0);
    const [cle] = passesOf(path.join(dir, 'out', 'minmax.qdq.onnx'));
    expect(cle).toMatchObject({ name: 'cross-layer-equalization', summary: { pairs: 15, samples: 3 } });
    expect(cle.summary.worstRangeRatioAfter).toBeLessThan(cle.summary.worstRangeRatioBefore);
    expect(r.stdout).toMatch(/cross-layer-equalization on 15 layer pairs/);
  });
});

describe('minmax meanMinMax through calibrate', () => {
  it('each table range is the mean of per-sample min and max, measured independently with onnxruntime (in-graph and derived ranges alike)', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ort = require('onnxruntime-node') as typeof import('onnxruntime-node');
    const dir = tmpDir();
    fs.mkdirSync(path.join(dir, 'calib'));
    const samples = ds.makeSamples(ds.CALIB_SEED + 7, 4);
    samples.forEach((s, i) => fs.writeFileSync(path.join(dir, 'calib', `s${i}.npy`), writeNpy(BigInt64Array.from(s.ids.map(BigInt)), [s.ids.length], 'int64')));
    fs.writeFileSync(path.join(dir, 'qcal.config.json'), JSON.stringify({ collectors: [['minmax', { meanMinMax: true }]] }));
    const r = await qcal(['calibrate', '--model', TINY_TRANSFORMER, '--data', 'calib', '--out', 'out', '--quiet'], dir);
    expect(r.code).toBe(0);
    const table = readJson(path.join(dir, 'out', 'minmax.table.json'));
    // A LayerNorm output, and GELU's x·0.5 and erf(·) + 1 (ranges derived from their sources').
    const names = ['/layer0/ln1/LayerNormalization_output_0', '/layer0/mlp/gelu/Mul_half_output_0', '/layer0/mlp/gelu/Add_one_output_0'];
    const m = decodeModel(fs.readFileSync(TINY_TRANSFORMER));
    for (const n of names) if (!m.graph!.output.some((o) => o.name === n)) m.graph!.output.push({ name: n, type: { tensorType: { elemType: 1 } } });
    const { encodeModel } = await import('@qcal/core');
    const s = await ort.InferenceSession.create(encodeModel(m));
    const sum = names.map(() => [0, 0]);
    for (const x of samples) {
      const out = await s.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(x.ids.map(BigInt)), [1, x.ids.length]) });
      names.forEach((n, k) => { const d = out[n]!.data as Float32Array; sum[k]![0] += Math.min(...d); sum[k]![1] += Math.max(...d); });
    }
    await s.release();
    names.forEach((n, k) => {
      expect(table.tensors[n].min).toBeCloseTo(sum[k]![0]! / samples.length, 5);
      expect(table.tensors[n].max).toBeCloseTo(sum[k]![1]! / samples.length, 5);
    });
  });
});
