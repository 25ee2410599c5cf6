import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { readManifest } from '@qcal/core';
import { writeTinyProject } from '../../../test-support/tiny-model';
import { qcal, tmpDir, readJson } from './helpers';

const BIN = path.resolve(__dirname, '../dist/bin.js');
const base = ['calibrate', '--model', 'tiny.onnx', '--data', 'data', '--quiet'];
const files = (d: string): string[] => (fs.existsSync(d) ? fs.readdirSync(d).sort() : []);
const contents = (d: string): Record<string, string> => Object.fromEntries(files(d).filter((f) => fs.statSync(path.join(d, f)).isFile()).map((f) => [f, fs.readFileSync(path.join(d, f), 'latin1')]));

describe('calibrate output sets', () => {
  it('a --force run with fewer formats removes the old format files of that collector; others stay; a manifest names the run', async () => {
    const dir = tmpDir();
    writeTinyProject(dir);
    let r = await qcal([...base, '--collector', 'minmax', '--format', 'tensorrt', '--format', 'ort', '--qdq', '--out', 'out'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(files(path.join(dir, 'out'))).toEqual(['minmax.ort', 'minmax.qdq.onnx', 'minmax.table.json', 'minmax.trt.cache', 'qcal-manifest.json']);
    r = await qcal([...base, '--collector', 'entropy', '--out', 'out'], dir);
    expect(r.code).toBe(0);
    r = await qcal([...base, '--collector', 'minmax', '--force', '--out', 'out'], dir);
    expect(r.code).toBe(0);
    expect(files(path.join(dir, 'out'))).toEqual(['entropy.table.json', 'minmax.table.json', 'qcal-manifest.json']);
    const m = readManifest(path.join(dir, 'out'))!;
    expect(m.runs[m.run]).toMatchObject({ command: 'calibrate', collectors: ['minmax'] });
    expect(m.files['minmax.table.json']!.run).toBe(m.run);
    expect(m.files['entropy.table.json']!.run).not.toBe(m.run);
  });

  it.each([
    ['an existing file', (d: string) => { fs.writeFileSync(path.join(d, 'f'), 'x'); return 'f'; }, /--out \S*\/f: exists and is not a directory/],
    ['a path under a file', (d: string) => { fs.writeFileSync(path.join(d, 'f'), 'x'); return 'f/out'; }, /--out \S*\/f\/out: a component of the path is a file/],
  ])('--out naming %s: exit 2 with a clear message before any inference', async (_what, make, msg) => {
    const dir = tmpDir();
    writeTinyProject(dir);
    const out = make(dir);
    const r = await qcal([...base, '--out', out], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/calibrat(ed|ing) \d/);
  });

  it('--out on a read-only file system (a read-only bind mount, or EROFS injected where mounting is not allowed): exit 2 before inference, nothing changed', () => {
    const dir = tmpDir();
    writeTinyProject(dir);
    expect(spawnSync(process.execPath, [BIN, ...base, '--out', 'out'], { cwd: dir }).status).toBe(0);
    const before = contents(path.join(dir, 'out'));
    // A private mount namespace (unshare -m): the read-only bind mount vanishes with the process.
    const script = `mount --bind out out && mount -o remount,bind,ro out && exec "${process.execPath}" "${BIN}" ${[...base, '--force', '--out', 'out'].join(' ')}`;
    let r = spawnSync('unshare', ['-m', 'sh', '-c', script], { cwd: dir, encoding: 'utf8' });
    if (r.status !== 2 && !/qcal/.test(r.stderr ?? '')) {
      // No mount namespace here (not root, or no unshare(1)): the file system's answer is injected instead.
      r = spawnSync(process.execPath, [BIN, ...base, '--force', '--out', 'out'], { cwd: dir, encoding: 'utf8', env: { ...process.env, QCAL_FAULT: 'erofs@output-set.open' } });
    }
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--out \S*\/out: cannot write .*read-only file system \(EROFS\)/);
    expect(contents(path.join(dir, 'out'))).toEqual(before);
  });

  it.each(['output-set.write#2', 'output-set.before-swap', 'output-set.mid-swap'])('kill -9 during the output writes (%s): the previous outputs stay intact and complete; the next run cleans up', (point) => {
    if (!fs.existsSync(BIN)) throw new Error(`${BIN} missing: run tsc -b first`);
    const dir = tmpDir();
    writeTinyProject(dir);
    const run = (extra: string[], env: Record<string, string> = {}) => spawnSync(process.execPath, [BIN, ...base, '--collector', 'minmax', '--format', 'tensorrt', '--qdq', '--out', 'out', ...extra], { cwd: dir, env: { ...process.env, ...env }, encoding: 'utf8' });
    expect(run([]).status).toBe(0);
    const before = contents(path.join(dir, 'out'));
    const killed = run(['--force', '--format', 'tpu-mlir'], { QCAL_FAULT: `kill@${point}` });
    expect(killed.signal).toBe('SIGKILL');
    if (point !== 'output-set.mid-swap') expect(contents(path.join(dir, 'out'))).toEqual(before);
    else expect(fs.existsSync(path.join(dir, 'out'))).toBe(false); // moved aside for two renames; restored below
    const next = run(['--force']);
    expect(next.stderr).toEqual(point === 'output-set.mid-swap' ? expect.stringMatching(/previous outputs were restored/) : '');
    expect(next.status).toBe(0);
    expect(files(dir).filter((f) => f.startsWith('.out.'))).toEqual([]);
    expect(files(path.join(dir, 'out'))).toEqual(['minmax.qdq.onnx', 'minmax.table.json', 'minmax.trt.cache', 'qcal-manifest.json']);
    expect(readJson(path.join(dir, 'out', 'minmax.table.json')).tensors.y).toMatchObject({ min: 0 });
  });
});

describe('single-file outputs are checked before the work', () => {
  it.each([
    ['quantize --out naming a directory', (d: string) => { fs.mkdirSync(path.join(d, 'q.onnx')); return ['quantize', '--model', 'tiny.onnx', '--table', 'out/minmax.table.json', '--out', 'q.onnx']; }, /--out q\.onnx: is a directory; expected a file path/],
    ['quantize --out under a file', () => ['quantize', '--model', 'tiny.onnx', '--table', 'out/minmax.table.json', '--out', 'tiny.onnx/q.onnx'], /--out tiny\.onnx\/q\.onnx: a component of the path is a file/],
    ['convert --out under a file', () => ['convert', 'out/minmax.table.json', '--to', 'tensorrt', '--out', 'tiny.onnx/x.cache'], /--out tiny\.onnx\/x\.cache: a component of the path is a file/],
    ['evaluate --json naming a directory', () => ['evaluate', '--model', 'tiny.onnx', '--qdq', 'tiny.onnx', '--data', 'data', '--json', 'data'], /--json data: is a directory/],
    ['convert of /dev/zero as a table', () => ['convert', '/dev/zero', '--to', 'tensorrt', '--out', 'x.cache'], /\/dev\/zero: not a regular file/],
  ])('%s: exit 2, one line', async (_what, args, msg) => {
    const dir = tmpDir();
    writeTinyProject(dir);
    expect((await qcal([...base, '--out', 'out'], dir)).code).toBe(0);
    const r = await qcal(args(dir), dir);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.code).toBe(2);
  });
});
