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
    expect(files(path.join(dir, 'out'))).toEqual(['minmax.ort', 'minmax.qdq.onnx', 'minmax.table.json', 'minmax.trt.cache', 'qcal-manifest.json', 'report.html', 'run.json']);
    r = await qcal([...base, '--collector', 'entropy', '--out', 'out'], dir);
    expect(r.code).toBe(0);
    r = await qcal([...base, '--collector', 'minmax', '--force', '--out', 'out'], dir);
    expect(r.code).toBe(0);
    expect(files(path.join(dir, 'out'))).toEqual(['entropy.table.json', 'minmax.table.json', 'qcal-manifest.json', 'report.html', 'run.json']);
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
    expect(files(path.join(dir, 'out'))).toEqual(['minmax.qdq.onnx', 'minmax.table.json', 'minmax.trt.cache', 'qcal-manifest.json', 'report.html', 'run.json']);
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

describe('a full disk', () => {
  it('ENOSPC while writing a run\'s outputs (a 1 MiB tmpfs in a private mount namespace; an injected ENOSPC where mounting is not allowed): exit 1, one line, previous outputs intact, no temporary files left', () => {
    const dir = tmpDir();
    writeTinyProject(dir);
    const args = [...base, '--collector', 'minmax', '--qdq', '--out', 'mnt/out'].join(' ');
    // First run fills out/, then a filler takes the rest of the tmpfs, then a forced run needs space.
    const script = [
      'mkdir -p mnt && mount -t tmpfs -o size=1m tmpfs mnt || exit 99',
      `"${process.execPath}" "${BIN}" ${args} || exit 98`,
      'cp -r mnt/out before',
      // Leave 12 KiB: enough to open the output set, not for the bigger second set of files.
      'avail=$(df -k mnt | awk \'NR==2{print $4}\'); dd if=/dev/zero of=mnt/filler bs=1k count=$((avail - 12)) 2>/dev/null',
      `"${process.execPath}" "${BIN}" ${args} --force --format tensorrt --format ort 2>stderr.txt; echo $? > code.txt`,
      'cp -r mnt/out after; ls -a mnt > listing.txt',
      // Then no byte left at all: even the lock cannot be written.
      'dd if=/dev/zero of=mnt/filler2 bs=1k 2>/dev/null',
      `"${process.execPath}" "${BIN}" ${args} --force 2>stderr3.txt; echo $? > code3.txt; ls -a mnt > listing3.txt`,
    ].join('\n');
    const r = spawnSync('unshare', ['-m', 'sh', '-c', script], { cwd: dir, encoding: 'utf8' });
    let stderr: string;
    let code: number;
    if (r.status === 0) {
      stderr = fs.readFileSync(path.join(dir, 'stderr.txt'), 'utf8');
      code = Number(fs.readFileSync(path.join(dir, 'code.txt'), 'utf8'));
      expect(contents(path.join(dir, 'after'))).toEqual(contents(path.join(dir, 'before')));
      expect(fs.readFileSync(path.join(dir, 'listing.txt'), 'utf8').split('\n').filter((e) => e.includes('qcal') || e.endsWith('.tmp'))).toEqual([]);
      expect(fs.readFileSync(path.join(dir, 'stderr3.txt'), 'utf8')).toMatch(/^qcal: error: \[QCAL_CALIBRATION\] --out \S+: cannot write there: no space left on device \(ENOSPC\); nothing in it was changed\n$/);
      expect(fs.readFileSync(path.join(dir, 'code3.txt'), 'utf8').trim()).toBe('1');
      expect(fs.readFileSync(path.join(dir, 'listing3.txt'), 'utf8').split('\n').filter((e) => e.includes('qcal'))).toEqual([]);
    } else {
      // No mount namespace here: the same write fails with an injected ENOSPC.
      expect(spawnSync(process.execPath, [BIN, ...base, '--collector', 'minmax', '--qdq', '--out', 'out'], { cwd: dir }).status).toBe(0);
      const before = contents(path.join(dir, 'out'));
      const f = spawnSync(process.execPath, [BIN, ...base, '--collector', 'minmax', '--qdq', '--out', 'out', '--force', '--format', 'tensorrt'], { cwd: dir, encoding: 'utf8', env: { ...process.env, QCAL_FAULT: 'enospc@output-set.write#2' } });
      stderr = f.stderr;
      code = f.status!;
      expect(contents(path.join(dir, 'out'))).toEqual(before);
      expect(files(dir).filter((e) => e.includes('qcal'))).toEqual([]);
    }
    expect(stderr).toMatch(/^qcal: error: \[QCAL_CALIBRATION\] .*no space left on device \(ENOSPC\)/);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(code).toBe(1);
  });
});
