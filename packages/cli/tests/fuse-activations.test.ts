import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeModel, findActivationChains, loadModel } from '@qcal/core';
import { CLS_MODEL } from '../../../test-support/paths';
import { qcal, tmpDir, readJson, writeSamples } from './helpers';

const passesOf = (file: string) => JSON.parse(decodeModel(fs.readFileSync(file)).metadataProps!.find((p) => p.key === 'qcal.passes')!.value!);
const opCount = (file: string, op: string) => decodeModel(fs.readFileSync(file)).graph!.node.filter((n) => n.opType === op).length;

describe('calibrate / quantize: fuse-activations (the PP-OCR classifier: 18 decomposed HardSwish chains)', () => {
  it('on by default: inner tensors neither calibrated nor quantized, one HardSwish node each; --no-fuse-activations or the config key turn it off', async () => {
    const dir = tmpDir();
    writeSamples(path.join(dir, 'data'), [[1, 3, 48, 192], [1, 3, 48, 192]]);
    const inner = findActivationChains(loadModel(CLS_MODEL).model).flatMap((c) => c.internal);
    expect(inner).toHaveLength(54);

    const on = await qcal(['calibrate', '--model', CLS_MODEL, '--data', 'data', '--out', 'on', '--qdq', '--collector', 'minmax'], dir);
    expect(on.code).toBe(0);
    expect(on.stdout).toMatch(/fuse-activations on 18 HardSwish chains/);
    const tOn = readJson(path.join(dir, 'on', 'minmax.table.json'));
    expect(inner.filter((t) => t in tOn.tensors)).toEqual([]);
    expect(tOn.meta.qdqPasses).toContainEqual({ name: 'fuse-activations', summary: { chains: 18, floatTensors: 54, hardSwishNodes: 18 } });
    expect(passesOf(path.join(dir, 'on', 'minmax.qdq.onnx'))).toEqual(tOn.meta.qdqPasses);
    expect(opCount(path.join(dir, 'on', 'minmax.qdq.onnx'), 'HardSwish')).toBe(18);

    const off = await qcal(['calibrate', '--model', CLS_MODEL, '--data', 'data', '--out', 'off', '--qdq', '--collector', 'minmax', '--no-fuse-activations', '--quiet'], dir);
    expect(off.code).toBe(0);
    const tOff = readJson(path.join(dir, 'off', 'minmax.table.json'));
    expect(inner.filter((t) => !(t in tOff.tensors))).toEqual([]);
    expect(passesOf(path.join(dir, 'off', 'minmax.qdq.onnx')).map((p: { name: string }) => p.name)).not.toContain('fuse-activations');
    expect(opCount(path.join(dir, 'off', 'minmax.qdq.onnx'), 'HardSwish')).toBe(0);
    // The tensors both tables have get the same ranges (one inference pass, the same values).
    for (const [t, e] of Object.entries(tOn.tensors)) expect(tOff.tensors[t]).toEqual(e);

    // qcal quantize: the flag, on a table that has the inner tensors.
    const qz = await qcal(['quantize', '--model', CLS_MODEL, '--table', 'off/minmax.table.json', '--out', 'q.onnx', '--no-fuse-activations'], dir);
    expect(qz.code).toBe(0);
    expect(opCount(path.join(dir, 'q.onnx'), 'HardSwish')).toBe(0);
    expect(opCount(path.join(dir, 'q.onnx'), 'QuantizeLinear')).toBe(opCount(path.join(dir, 'off', 'minmax.qdq.onnx'), 'QuantizeLinear'));

    fs.writeFileSync(path.join(dir, 'qcal.config.json'), JSON.stringify({ fuseActivations: false }));
    const cfg = await qcal(['calibrate', '--model', CLS_MODEL, '--data', 'data', '--out', 'cfg', '--qdq', '--collector', 'minmax', '--quiet'], dir);
    expect(cfg.code).toBe(0);
    expect(opCount(path.join(dir, 'cfg', 'minmax.qdq.onnx'), 'HardSwish')).toBe(0);
    fs.writeFileSync(path.join(dir, 'qcal.config.json'), JSON.stringify({ fuseActivations: 'no' }));
    const bad = await qcal(['calibrate', '--model', CLS_MODEL, '--data', 'data', '--qdq'], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/fuseActivations: found "no", expected true or false/);
  });
});
