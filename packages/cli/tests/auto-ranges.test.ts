import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeModel, encodeModel, makeFloatTensor, writeNpy, DataType, type OnnxModel } from '@qcal/core';
import { CLS_MODEL } from '../../../test-support/paths';
import { qcal, tmpDir, readJson, writeImageLike } from './helpers';

describe('calibrate --collector auto (a range per tensor group chosen among collectors by measured harm)', () => {
  const dir = tmpDir();
  writeImageLike(path.join(dir, 'data'), 4, 5);

  it('calibrates the candidates in one pass, writes auto.table.json, its QDQ model, and says what won where', async () => {
    const r = await qcal(['calibrate', '--model', CLS_MODEL, '--data', 'data', '--out', 'out', '--collector', 'auto', '--qdq'], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/auto: ranges chosen among ifmr, hfmg, percentile on 4 calibration samples .* \(\d+ QDQ builds\): cosine 0\.\d+ \(ifmr\) -> 0\.\d+; tensors: /);
    const out = path.join(dir, 'out');
    const files = fs.readdirSync(out);
    // The candidates' tables are kept; only the collectors named (auto) get a QDQ model.
    expect(files).toEqual(expect.arrayContaining(['auto.table.json', 'ifmr.table.json', 'hfmg.table.json', 'percentile.table.json', 'auto.qdq.onnx', 'run.json']));
    expect(files).not.toContain('ifmr.qdq.onnx');
    const t = readJson(path.join(out, 'auto.table.json'));
    const m = t.meta.rangeChoice;
    expect(t.collector).toBe('auto');
    expect(m.collectors).toEqual(['ifmr', 'hfmg', 'percentile']);
    expect(m.score.chosen).toBeGreaterThanOrEqual(m.score.base);
    // Every quantized tensor's entry names its collector, and carries that collector's range.
    const cands = Object.fromEntries(m.collectors.map((c: string) => [c, readJson(path.join(out, `${c}.table.json`))]));
    let counted = 0;
    for (const [name, e] of Object.entries<{ min: number; max: number; collector?: string }>(t.tensors)) {
      if (!e.collector) continue;
      counted++;
      expect(cands[e.collector].tensors[name]).toMatchObject({ min: e.min, max: e.max });
    }
    expect(counted).toBe(Object.values<number>(m.counts).reduce((a, b) => a + b, 0));
    expect(readJson(path.join(out, 'run.json')).rangeChoice).toMatchObject({ collectors: m.collectors, counts: m.counts });
    // The QDQ model says it too (qcal.passes).
    const passes = JSON.parse(decodeModel(fs.readFileSync(path.join(out, 'auto.qdq.onnx'))).metadataProps!.find((p) => p.key === 'qcal.passes')!.value!);
    const nonZero = Object.fromEntries(Object.entries<number>(m.counts).filter(([, n]) => n > 0));
    expect(passes[0]).toEqual({ name: 'range-choice', summary: { ...nonZero, metric: 'cosine', base: expect.any(Number), chosen: expect.any(Number) } });
    // A second run reuses the tables and the choice.
    const again = await qcal(['calibrate', '--model', CLS_MODEL, '--data', 'data', '--out', 'out', '--collector', 'auto', '--no-report'], dir);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/auto: reusing the range choice/);
    expect(readJson(path.join(out, 'auto.table.json')).tensors).toEqual(t.tensors);
  });

  it('rejects unknown auto options and auto in a shard run, before any inference', async () => {
    fs.writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ collectors: [['auto', { stages: 3 }]] }));
    let r = await qcal(['calibrate', '--config', 'bad.json', '--model', CLS_MODEL, '--data', 'data', '--out', 'o2'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/collector "auto": unknown option\(s\) stages/);
    r = await qcal(['calibrate', '--model', CLS_MODEL, '--data', 'data', '--out', 'o3', '--collector', 'auto', '--shard', '1/2'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/collector "auto" chooses ranges after the whole calibration/);
  });

  it('auto still writes a model when the choice cannot be scored (an int64 ArgMax output): the base ranges, with a warning', async () => {
    const vi = (name: string, elemType: number, dims: number[]) => ({ name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
    const w = Array.from({ length: 32 }, (_, i) => Math.sin(i + 1));
    const model: OnnxModel = {
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: {
        name: 'argmax_head',
        node: [
          { input: ['x', 'W'], output: ['h'], name: 'fc', opType: 'MatMul', attribute: [] },
          { input: ['h'], output: ['r'], name: 'relu', opType: 'Relu', attribute: [] },
          { input: ['r'], output: ['cls'], name: 'argmax', opType: 'ArgMax', attribute: [{ name: 'axis', type: 2, i: 1 }] },
        ],
        initializer: [makeFloatTensor('W', [8, 4], w)],
        input: [vi('x', DataType.FLOAT, [1, 8])],
        output: [vi('cls', 7, [1, 1])],
        valueInfo: [],
      },
    };
    fs.writeFileSync(path.join(dir, 'argmax.onnx'), encodeModel(model));
    fs.mkdirSync(path.join(dir, 'vec'), { recursive: true });
    for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(dir, 'vec', `s${i}.npy`), writeNpy(Float32Array.from({ length: 8 }, (_, j) => Math.cos(i * 8 + j)), [1, 8], 'float32'));
    const r = await qcal(['calibrate', '--model', 'argmax.onnx', '--data', 'vec', '--out', 'am', '--collector', 'auto', '--qdq', '--no-report'], dir);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/auto: could not measure the range choice \(.+\); using ifmr's ranges for every tensor/);
    const t = readJson(path.join(dir, 'am', 'auto.table.json'));
    expect(t.meta.rangeChoice.error).toEqual(expect.any(String));
    const ifmr = readJson(path.join(dir, 'am', 'ifmr.table.json'));
    for (const [name, e] of Object.entries<{ min: number; max: number }>(ifmr.tensors)) expect(t.tensors[name]).toMatchObject({ min: e.min, max: e.max });
    expect(fs.existsSync(path.join(dir, 'am', 'auto.qdq.onnx'))).toBe(true);
  });
});
