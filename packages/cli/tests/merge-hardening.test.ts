import * as fs from 'node:fs';
import * as path from 'node:path';
import { snapshotChecksum, writeNpy } from '@qcal/core';
import { writeTinyProject } from '../../../test-support/tiny-model';
import { qcal, tmpDir, readJson } from './helpers';

/** Two minmax shards of the tiny model's 4 samples in dir/s1, dir/s2. */
async function shards(dir: string): Promise<void> {
  writeTinyProject(dir, 4);
  for (const i of [1, 2]) {
    const r = await qcal(['calibrate', '--model', 'tiny.onnx', '--data', 'data', '--collector', 'minmax', '--shard', `${i}/2`, '--out', `s${i}`, '--quiet'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  }
}

/** Rewrites s<i>/minmax.snapshot through `edit`; `reseal` recomputes the checksum (a forger who knows the format). */
function tamper(dir: string, i: number, edit: (s: any) => void, reseal = true): void {
  const file = path.join(dir, `s${i}`, 'minmax.snapshot');
  const s = readJson(file);
  edit(s);
  if (reseal) s.checksum = snapshotChecksum(s);
  fs.writeFileSync(file, JSON.stringify(s));
}

describe('qcal merge trusts nothing in a snapshot', () => {
  it('a clean pair merges (and equals the single run)', async () => {
    const dir = tmpDir();
    await shards(dir);
    const m = await qcal(['merge', 's1', 's2', '--out', 'merged', '--quiet'], dir);
    expect(m.stderr).toBe('');
    expect(m.code).toBe(0);
    expect((await qcal(['calibrate', '--model', 'tiny.onnx', '--data', 'data', '--out', 'single', '--quiet'], dir)).code).toBe(0);
    expect(readJson(path.join(dir, 'merged', 'minmax.table.json')).tensors).toEqual(readJson(path.join(dir, 'single', 'minmax.table.json')).tensors);
    expect(readJson(path.join(dir, 'merged', 'minmax.table.json')).meta.merge).toBe('exact');
  });

  it.each([
    ['a label that is a path (../../x)', (s: any) => { s.label = '../../x'; }, /"label" is "\.\.\/\.\.\/x", expected a file-safe label/],
    ['a label naming another file', (s: any) => { s.label = 'other'; }, /its label "other" does not match the file name \(minmax\.snapshot\)/],
    ['negative counts', (s: any) => { s.samples = -5; }, /"samples" is -5, expected an integer >= 1/],
    ['strings for numbers', (s: any) => { s.batches = '2'; s.shard.index = '1'; }, /"shard" is .*expected \{ index, count \}.*"batches" is "2"|"batches" is "2".*"shard"/],
    ['missing keys', (s: any) => { delete s.tensors; delete s.state; }, /"tensors" is undefined, expected a non-empty array .*"state" is undefined/],
    ['a claim of 300 M shards', (s: any) => { s.shard = { index: 1, count: 300_000_000 }; }, /"shard" is .*count <= 100000/],
    ['a state the collector refuses', (s: any) => { s.state = { tensors: 'nope' }; }, /minmax\.snapshot: its state cannot be merged/],
  ])('%s: exit 2, one coded line, nothing written (inside or outside --out)', async (_what, edit, msg) => {
    const dir = tmpDir();
    await shards(dir);
    tamper(dir, 1, edit);
    const r = await qcal(['merge', 's1', 's2', '--out', 'a/b/merged'], dir);
    expect(r.stderr).toMatch(/^qcal: error: \[QCAL_(TABLE|CONFIG)\] /);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr).not.toMatch(/TypeError|    at /);
    expect(r.code).toBe(2);
    expect(fs.existsSync(path.join(dir, 'a', 'b', 'merged'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'a', 'x.table.json'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'x.table.json'))).toBe(false);
  });

  it('a snapshot changed after writing (checksum not recomputed) is refused', async () => {
    const dir = tmpDir();
    await shards(dir);
    tamper(dir, 2, (s) => { s.samples += 1; }, false);
    const r = await qcal(['merge', 's1', 's2', '--out', 'merged'], dir);
    expect(r.stderr).toMatch(/s2\/minmax\.snapshot: checksum mismatch: the snapshot was changed or damaged after it was written/);
    expect(r.code).toBe(2);
  });

  it('a shard cut from other data is refused', async () => {
    const dir = tmpDir();
    await shards(dir);
    const other = path.join(dir, 'other');
    fs.mkdirSync(path.join(other, 'data'), { recursive: true });
    for (const n of ['a', 'b', 'c', 'd']) fs.writeFileSync(path.join(other, 'data', `${n}.npy`), writeNpy(Float32Array.from([9, 9, 9, 9]), [1, 4], 'float32'));
    fs.copyFileSync(path.join(dir, 'tiny.onnx'), path.join(other, 'tiny.onnx'));
    expect((await qcal(['calibrate', '--model', 'tiny.onnx', '--data', 'data', '--shard', '2/2', '--out', 's2', '--quiet'], other)).code).toBe(0);
    const r = await qcal(['merge', 's1', path.join(other, 's2'), '--out', 'merged'], dir);
    expect(r.stderr).toMatch(/different data set/);
    expect(r.code).toBe(2);
  });

  it('fewer directories than the shards claim: a clear error before any large allocation', async () => {
    const dir = tmpDir();
    await shards(dir);
    const r = await qcal(['merge', 's1', '--out', 'merged'], dir);
    expect(r.stderr).toMatch(/is shard 1 of 2, but 1 shard directory was given/);
    expect(r.code).toBe(2);
  });
});

describe('reuse depends on the data content', () => {
  it('data changed with size and mtime kept (cp -p, rsync, tar) is recomputed, not served stale', async () => {
    const dir = tmpDir();
    writeTinyProject(dir, 2);
    const args = ['calibrate', '--model', 'tiny.onnx', '--data', 'data', '--out', 'out'];
    expect((await qcal(args, dir)).code).toBe(0);
    const before = readJson(path.join(dir, 'out', 'minmax.table.json')).tensors.x;
    const f = path.join(dir, 'data', 's0.npy');
    const st = fs.statSync(f);
    fs.writeFileSync(f, writeNpy(Float32Array.from([50, -1, 0.5, 1]), [1, 4], 'float32'));
    fs.utimesSync(f, st.atime, st.mtime);
    expect(fs.statSync(f).size).toBe(st.size);
    // (Date keeps milliseconds: what an mtime-based fingerprint rounded to.)
    expect(Math.round(fs.statSync(f).mtimeMs)).toBe(Math.round(st.mtimeMs));
    const r = await qcal(args, dir);
    expect(r.stderr).not.toMatch(/reusing/);
    expect(r.code).toBe(0);
    const after = readJson(path.join(dir, 'out', 'minmax.table.json')).tensors.x;
    expect(before.max).toBe(2);
    expect(after.max).toBe(50);
    // Unchanged data is still reused.
    expect((await qcal(args, dir)).stderr).toMatch(/reusing the tables/);
  });
});

describe('a snapshot nested 10^6 levels deep', () => {
  it('is refused as malformed (exit 2), not a stack overflow in the checksum', async () => {
    const dir = tmpDir();
    await shards(dir);
    const file = path.join(dir, 's1', 'minmax.snapshot');
    const s = readJson(file);
    s.state = 0;
    fs.writeFileSync(file, JSON.stringify(s).replace('"state":0', `"state":${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`));
    const r = await qcal(['merge', 's1', 's2', '--out', 'merged'], dir);
    expect(r.stderr).toMatch(/minmax\.snapshot: malformed snapshot: values nested more than 64 levels deep/);
    expect(r.code).toBe(2);
  });
});

describe('merging into a shard directory', () => {
  it('keeps that shard\'s snapshot (an input, not a stale output); a second merge gives the same table', async () => {
    const dir = tmpDir();
    await shards(dir);
    expect((await qcal(['merge', 's1', 's2', '--out', 's1', '--quiet'], dir)).code).toBe(0);
    expect(fs.readdirSync(path.join(dir, 's1')).sort()).toEqual(['minmax.snapshot', 'minmax.table.json', 'qcal-manifest.json', 'report.html', 'run.json']);
    const first = readJson(path.join(dir, 's1', 'minmax.table.json')).tensors;
    expect((await qcal(['merge', 's1', 's2', '--out', 's1', '--quiet'], dir)).code).toBe(0);
    expect(readJson(path.join(dir, 's1', 'minmax.table.json')).tensors).toEqual(first);
  });
});
