import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeModel } from '@qcal/core';
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
});
