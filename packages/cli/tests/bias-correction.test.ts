import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeModel, writeNpy } from '@qcal/core';
import { CLS_MODEL } from '../../../test-support/paths';
import { qcal, tmpDir, rng } from './helpers';

describe('calibrate --bias-correction', () => {
  it('writes a QDQ model whose metadata records the pass; the flag is also a config key', async () => {
    const dir = tmpDir();
    fs.mkdirSync(path.join(dir, 'data'));
    const r0 = rng(5);
    for (let i = 0; i < 4; i++) {
      const a = Float32Array.from({ length: 3 * 48 * 192 }, (_, j) => 0.8 * Math.sin(j / 30) + 0.4 * (r0() - 0.5));
      fs.writeFileSync(path.join(dir, 'data', `s${i}.npy`), writeNpy(a, [1, 3, 48, 192], 'float32'));
    }
    const r = await qcal(['calibrate', '--model', CLS_MODEL, '--data', 'data', '--out', 'out', '--collector', 'minmax', '--qdq', '--bias-correction'], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/bias-correction on \d+ layers/);
    const m = decodeModel(fs.readFileSync(path.join(dir, 'out', 'minmax.qdq.onnx')));
    const passes = JSON.parse(m.metadataProps!.find((p) => p.key === 'qcal.passes')!.value!);
    expect(passes[0]).toMatchObject({ name: 'bias-correction', summary: { samples: 4 } });
    expect(passes[0].summary.layers).toBeGreaterThan(10);
    fs.writeFileSync(path.join(dir, 'qcal.config.json'), JSON.stringify({ biasCorrection: 'yes' }));
    const bad = await qcal(['calibrate', '--model', CLS_MODEL, '--data', 'data', '--qdq'], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/biasCorrection/);
  });
});
