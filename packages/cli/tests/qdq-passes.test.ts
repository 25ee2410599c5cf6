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
    expect(passes).toEqual([{ name: 'smooth-quant', summary: { sites: 4, folded: 4, insertedMul: 0, alpha: 0.6, samples: 8 } }]);
    const table = readJson(path.join(dir, 'out', 'minmax.table.json'));
    expect(table.meta.qdqPasses).toEqual(passes);
    // The table keeps the FP32 model's ranges (it stays valid for any tool).
    const again = await qcal(['calibrate', '--model', TINY_TRANSFORMER, '--data', 'calib', '--collector', 'minmax', '--out', 'plain', '--quiet'], dir);
    expect(again.code).toBe(0);
    expect(table.tensors).toEqual(readJson(path.join(dir, 'plain', 'minmax.table.json')).tensors);

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
