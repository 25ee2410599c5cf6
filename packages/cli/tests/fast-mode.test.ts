/**
 * Fast mode (`qcal calibrate`'s default, `--fast`, `--fast-sample N`) is never silent: a log line
 * says what it does and how to turn it off (`--exact`), and every table records it
 * (meta.fastMode), on a real model (PP-OCR cls).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLS_MODEL } from '../../../test-support/paths';
import { qcal, readJson, tmpDir, writeSamples } from './helpers';

let dir: string;
beforeAll(() => {
  dir = tmpDir('qcal-fast-cli-');
  writeSamples(path.join(dir, 'data'), [[1, 3, 48, 192], [1, 3, 48, 192]], 19);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('--fast-sample N: a log line, meta.fastMode in every table, the exact extremes', async () => {
  const r = await qcal(['calibrate', '--model', CLS_MODEL, '--data', 'data', '--collector', 'hfmg', '--collector', 'minmax', '--fast-sample', '1024', '--out', 'fast', '--no-report'], dir);
  expect(r.code).toBe(0);
  expect(r.stderr).toMatch(/fast mode: \d+ of \d+ fetched tensors are histogrammed from a sample of about 1024 values per tensor and batch .*--exact \(--fast-sample 0\) for every value/);
  for (const c of ['hfmg', 'minmax']) {
    const t = readJson(path.join(dir, 'fast', `${c}.table.json`));
    expect(t.meta.fastMode).toMatchObject({ sampleValues: 1024 });
    expect(t.meta.fastMode.sampledTensors).toBeGreaterThan(0);
  }
  // minmax next to a sampled collector still has the exact range of every value (in-graph extremes).
  const exact = await qcal(['calibrate', '--model', CLS_MODEL, '--data', 'data', '--collector', 'minmax', '--out', 'exact', '--no-report'], dir);
  expect(exact.code).toBe(0);
  expect(exact.stderr).not.toMatch(/fast mode/);
  const a = readJson(path.join(dir, 'fast', 'minmax.table.json')).tensors;
  const b = readJson(path.join(dir, 'exact', 'minmax.table.json'));
  expect(b.meta.fastMode).toBeUndefined();
  for (const [name, e] of Object.entries<{ min: number; max: number }>(b.tensors)) expect({ name, min: a[name].min, max: a[name].max }).toEqual({ name, min: e.min, max: e.max });
});

test('fast mode is the default; --exact (= --fast-sample 0) looks at every value; the flags exclude each other', async () => {
  const def = await qcal(['calibrate', '--model', CLS_MODEL, '--data', 'data', '--collector', 'hfmg', '--out', 'default', '--no-report'], dir);
  expect(def.code).toBe(0);
  expect(def.stderr).toMatch(/fast mode: \d+ of \d+ fetched tensors are histogrammed from a sample of about 16384 values per tensor and batch .*--exact \(--fast-sample 0\) for every value/);
  expect(readJson(path.join(dir, 'default', 'hfmg.table.json')).meta.fastMode).toMatchObject({ sampleValues: 16384 });
  const runs: Record<string, unknown>[] = [];
  for (const flag of [['--exact'], ['--fast-sample', '0']]) {
    const r = await qcal(['calibrate', '--model', CLS_MODEL, '--data', 'data', '--collector', 'hfmg', ...flag, '--out', 'every', '--no-report', '--force'], dir);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/fast mode/);
    const t = readJson(path.join(dir, 'every', 'hfmg.table.json'));
    expect(t.meta.fastMode).toBeUndefined();
    runs.push(t.tensors);
  }
  expect(runs[1]).toEqual(runs[0]);
  const both = await qcal(['calibrate', '--model', CLS_MODEL, '--data', 'data', '--collector', 'hfmg', '--exact', '--fast-sample', '1024', '--out', 'both', '--no-report'], dir);
  expect(both.code).toBe(2);
  expect(both.stderr).toMatch(/--exact and --fast-sample 1024 contradict each other/);
});

test('--fast-sample must be a non-negative integer', async () => {
  const r = await qcal(['calibrate', '--model', CLS_MODEL, '--data', 'data', '--collector', 'hfmg', '--fast-sample', '-3', '--out', 'bad', '--no-report'], dir);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/fast-sample/);
});

test('sharded fast runs: the snapshots record fast mode, the merged tables say so, and fast and exact shards do not mix', async () => {
  const shard = (i: number, fast: boolean, out: string) => qcal(['calibrate', '--model', CLS_MODEL, '--data', 'data', '--collector', 'hfmg', '--shard', `${i}/2`, ...(fast ? ['--fast-sample', '1024'] : ['--exact']), '--out', out, '--no-report', '--quiet'], dir);
  for (const [i, fast, out] of [[1, true, 's1'], [2, true, 's2'], [2, false, 's2x']] as const) expect((await shard(i, fast, out)).code).toBe(0);
  expect(readJson(path.join(dir, 's1', 'hfmg.snapshot')).fastMode).toMatchObject({ sampleValues: 1024 });
  const m = await qcal(['merge', 's1', 's2', '--out', 'merged', '--quiet'], dir);
  expect(m.code).toBe(0);
  expect(readJson(path.join(dir, 'merged', 'hfmg.table.json')).meta.fastMode).toMatchObject({ sampleValues: 1024 });
  const mixed = await qcal(['merge', 's1', 's2x', '--out', 'mixed', '--quiet'], dir);
  expect(mixed.code).toBe(2);
  expect(mixed.stderr).toMatch(/different fast mode \(--fast-sample\)/);
});
