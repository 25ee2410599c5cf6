import * as path from 'node:path';
import { CLS_MODEL } from '../../../test-support/paths';
import { qcal, tmpDir, readJson, writeImageLike } from './helpers';

describe('calibrate --target-metric / --target (fallback search on a user metric)', () => {
  const dir = tmpDir();
  writeImageLike(path.join(dir, 'data'), 8, 5);
  writeImageLike(path.join(dir, 'held'), 4, 6);

  it('rejects contradicting or incomplete goals before any inference', async () => {
    let r = await qcal(['calibrate', '--model', CLS_MODEL, '--data', 'data', '--target-cos', '0.99', '--target', '0.99'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/either targetCos \(--target-cos\) or target/);
    r = await qcal(['calibrate', '--model', CLS_MODEL, '--data', 'data', '--target-metric', 'sqnr'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/targetMetric: "sqnr" needs a value to reach: set target \(--target\)/);
    r = await qcal(['calibrate', '--model', CLS_MODEL, '--data', 'data', '--target', '1.5'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/a cosine target must be in \(0, 1\]/);
  });

  it('searches on SQNR (dB): the report names the metric, the fidelity reached and the tensors kept float', async () => {
    // 40 dB output SQNR is more than minmax INT8 gives the classifier: some tensors stay float.
    const r = await qcal(['calibrate', '--model', CLS_MODEL, '--data', 'data', '--out', 'out', '--collector', 'minmax',
      '--target-metric', 'sqnr', '--target', '40', '--max-float-layers', '6', '--eval-data', 'held', '--eval-samples', '4'], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/FP32 fallback for sqnr >= 40: (met|NOT met) with \d+ of \d+ quantized activations float/);
    const report = readJson(path.join(dir, 'out', 'minmax.fallback.json'));
    expect(report.metric).toBe('sqnr');
    expect(report.target).toBe(40);
    expect(report.allQuantized.heldOut).toBeLessThan(40);
    expect(report.exclude.length).toBeGreaterThan(0);
    expect(report.exclude.length).toBeLessThanOrEqual(6);
    expect(report.cost.probes).toBeGreaterThan(0);
    const table = readJson(path.join(dir, 'out', 'minmax.table.json'));
    expect(Object.keys(table.meta.floatFallback.tensors)).toEqual(report.exclude);
    expect(table.meta.floatFallback.metric).toBe('sqnr');
    // The run record says it too.
    const run = readJson(path.join(dir, 'out', 'run.json'));
    expect(run.fallback.minmax).toMatchObject({ metric: 'sqnr', target: 40, float: report.exclude, int16: [], quantizable: report.quantizable, met: report.met });
  });
});
