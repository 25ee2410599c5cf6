import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLS_MODEL } from '../../../test-support/paths';
import { qcal, tmpDir, readJson, writeImageLike } from './helpers';

describe('INT8 commands on the PP-OCRv4 classifier', () => {
  const dir = tmpDir();
  writeImageLike(path.join(dir, 'data'), 10, 11);

  it('calibrate --evaluate with no collector named uses the measured default (ifmr), then quantize, evaluate --per-layer and sensitivity from the table', async () => {
    let r = await qcal(['calibrate', '--model', CLS_MODEL, '--data', 'data', '--out', 'out', '--evaluate', '--quiet'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(fs.existsSync(path.join(dir, 'out', 'ifmr.qdq.onnx'))).toBe(true);
    const ev = readJson(path.join(dir, 'out', 'ifmr.evaluation.json'));
    expect(ev.outputs[0].name).toBe('softmax_0.tmp_0');
    expect(ev.outputs[0].cosine).toBeGreaterThan(0.95);

    r = await qcal(['quantize', '--model', CLS_MODEL, '--table', 'out/ifmr.table.json', '--out', 'q.onnx'], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/wrote q\.onnx: \d+ activations and \d+ weights quantized/);

    r = await qcal(['evaluate', '--model', CLS_MODEL, '--qdq', 'q.onnx', '--data', 'data', '--per-layer', '--json', 'ev.json', '--num-samples', '3'], dir);
    expect(r.code).toBe(0);
    const per = readJson(path.join(dir, 'ev.json'));
    expect(per.layers.length).toBeGreaterThan(20);
    // Worst first.
    expect(per.layers[0].cosine).toBeLessThanOrEqual(per.layers[per.layers.length - 1].cosine);

    r = await qcal(['sensitivity', '--model', CLS_MODEL, '--table', 'out/ifmr.table.json', '--data', 'data', '--eval-samples', '2', '--view', 'loss', '--json', 'sens.json'], dir);
    // Outside a terminal: only progress lines (every 10 s of a long phase, and at its end).
    // Outside a terminal: progress lines and a line per phase with counts and elapsed time.
    expect(r.stderr).toMatch(/^(sensitivity: (\d+\/\d+ evaluations, \d+ s( \(done\))?|FP32 reference of 2 sample\(s\) .* configurations in \d+ block\(s\) of 32|block \d+\/\d+, .*|\d+ configurations, \d+ inferences, [\d.]+ s)\n)*$/);
    expect(r.stderr).toMatch(/^sensitivity: \d+ configurations, \d+ inferences, [\d.]+ s$/m);
    expect(r.code).toBe(0);
    const sens = readJson(path.join(dir, 'sens.json'));
    expect(sens.layers.length).toBeGreaterThan(20);
    for (let i = 1; i < sens.layers.length; i++) expect(sens.layers[i - 1].loss).toBeGreaterThanOrEqual(sens.layers[i].loss);
  });

  it('--target-cos keeps the most harmful tensors float and records them in the table', async () => {
    const r = await qcal(['calibrate', '--model', CLS_MODEL, '--data', 'data', '--out', 'tc', '--target-cos', '0.9995', '--collector', 'minmax', '--quiet'], dir);
    expect(r.code).toBe(0);
    const table = readJson(path.join(dir, 'tc', 'minmax.table.json'));
    const fallback = table.meta.floatFallback.tensors;
    expect(Object.keys(fallback).length).toBeGreaterThan(0);
    for (const name of Object.keys(fallback)) expect(table.tensors[name]).toBeUndefined();
    const report = readJson(path.join(dir, 'tc', 'minmax.fallback.json'));
    expect(report.met).toBe(true);
    expect(report.score.heldOut).toBeGreaterThanOrEqual(0.9995);
    expect(fs.existsSync(path.join(dir, 'tc', 'minmax.qdq.onnx'))).toBe(true);
  });
});
