import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { openOutputSet, readManifest, recoverOutputDir, QcalError, CalibrationError, UsageError, exitCodeFor } from '@qcal/core';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'qcal-outset-'));
const read = (f: string): string => fs.readFileSync(f, 'utf8');
/** Names in a directory (and its parent's qcal leftovers). */
const ls = (d: string): string[] => (fs.existsSync(d) ? fs.readdirSync(d).sort() : []);
const leftovers = (d: string): string[] => ls(path.dirname(d)).filter((e) => e.startsWith(`.${path.basename(d)}.qcal-`));

function writeSet(out: string, files: Record<string, string>, owns: string[] = ['minmax'], cwd = os.tmpdir()): string[] {
  const set = openOutputSet(out, { command: 'test', owns, cwd });
  try {
    for (const [n, d] of Object.entries(files)) set.write(n, d);
    return set.commit();
  } finally {
    set.abort();
  }
}

describe('output sets', () => {
  afterEach(() => { delete process.env.QCAL_FAULT; });

  it('appear together, with a manifest naming the run and each file\'s hash', () => {
    const out = path.join(tmp(), 'out');
    const written = writeSet(out, { 'minmax.table.json': '{"a":1}\n', 'minmax.ort/calibration.json': '{}' });
    expect(written).toEqual([path.join(out, 'minmax.ort/calibration.json'), path.join(out, 'minmax.table.json')]);
    const m = readManifest(out)!;
    expect(m.format).toBe('qcal-output-set');
    expect(Object.keys(m.files)).toEqual(['minmax.ort/calibration.json', 'minmax.table.json']);
    // sha256 of '{"a":1}\n' computed independently (sha256sum).
    expect(m.files['minmax.table.json']).toMatchObject({ bytes: 8, run: m.run });
    expect(m.files['minmax.table.json']!.sha256).toBe(require('node:crypto').createHash('sha256').update('{"a":1}\n').digest('hex'));
    expect(m.runs[m.run]).toMatchObject({ command: 'test', pid: process.pid });
    expect(leftovers(out)).toEqual([]);
  });

  it('removes stale files of the collectors it owns, keeps other collectors\' and foreign files', () => {
    const out = path.join(tmp(), 'out');
    writeSet(out, { 'minmax.table.json': 'old', 'minmax.trt.cache': 'old', 'minmax.ort/calibration.json': 'old' }, ['minmax']);
    writeSet(out, { 'entropy.table.json': 'e1' }, ['entropy']);
    fs.writeFileSync(path.join(out, 'notes.txt'), 'mine');
    fs.mkdirSync(path.join(out, 'sub'));
    fs.writeFileSync(path.join(out, 'sub', 'x'), 'x');
    const firstRun = readManifest(out)!.files['entropy.table.json']!.run;
    writeSet(out, { 'minmax.table.json': 'new' }, ['minmax']);
    expect(ls(out)).toEqual(['entropy.table.json', 'minmax.table.json', 'notes.txt', 'qcal-manifest.json', 'sub']);
    expect(read(path.join(out, 'minmax.table.json'))).toBe('new');
    expect(read(path.join(out, 'sub', 'x'))).toBe('x');
    const m = readManifest(out)!;
    // The carried table keeps the run that wrote it; foreign files are not claimed.
    expect(m.files['entropy.table.json']!.run).toBe(firstRun);
    expect(m.runs[firstRun]).toBeDefined();
    expect(Object.keys(m.files).sort()).toEqual(['entropy.table.json', 'minmax.table.json']);
  });

  it('refuses names that would leave the output directory', () => {
    const out = path.join(tmp(), 'out');
    const set = openOutputSet(out, { command: 'test' });
    try {
      for (const bad of ['../x.table.json', '/etc/x', 'a/../../b', '', '.', 'a//b', 'qcal-manifest.json', '.qcal-stage-x/y']) {
        expect(() => set.write(bad, 'x')).toThrow(UsageError);
      }
    } finally {
      set.abort();
    }
    expect(fs.existsSync(out)).toBe(false);
    expect(leftovers(out)).toEqual([]);
  });

  it('checks --out before any work: a file, a path under a file, a live writer', () => {
    const d = tmp();
    fs.writeFileSync(path.join(d, 'file'), 'x');
    expect(() => openOutputSet(path.join(d, 'file'), { command: 't' })).toThrow(/exists and is not a directory/);
    expect(() => openOutputSet(path.join(d, 'file', 'sub'), { command: 't' })).toThrow(/is a file/);
    const first = openOutputSet(path.join(d, 'out'), { command: 't' });
    // Our own pid holds it, so fake a live other holder: pid 1 always exists.
    fs.writeFileSync(path.join(d, '.out.qcal-lock'), JSON.stringify({ pid: 1, host: os.hostname() }));
    let err: unknown;
    try { openOutputSet(path.join(d, 'out'), { command: 't' }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(UsageError);
    expect(String((err as Error).message)).toMatch(/another qcal process \(pid 1\)/);
    expect(exitCodeFor(err)).toBe(2);
    first.abort();
    // A lock of a dead process (a killed run) is taken over.
    fs.writeFileSync(path.join(d, '.out.qcal-lock'), JSON.stringify({ pid: 2 ** 22 + 12345, host: os.hostname() }));
    openOutputSet(path.join(d, 'out'), { command: 't' }).abort();
  });

  it('follows a symbolic link: the target directory is replaced, the link stays', () => {
    const d = tmp();
    fs.mkdirSync(path.join(d, 'real'));
    fs.symlinkSync(path.join(d, 'real'), path.join(d, 'link'));
    writeSet(path.join(d, 'link'), { 'minmax.table.json': 'x' });
    expect(fs.lstatSync(path.join(d, 'link')).isSymbolicLink()).toBe(true);
    expect(read(path.join(d, 'real', 'minmax.table.json'))).toBe('x');
  });

  it('a disk-full write (injected ENOSPC) leaves the previous set intact and no temporary files; exit 1', () => {
    const out = path.join(tmp(), 'out');
    writeSet(out, { 'minmax.table.json': 'v1', 'minmax.trt.cache': 'v1' });
    const before = snapshot(out);
    process.env.QCAL_FAULT = 'enospc@output-set.write#2';
    let err: unknown;
    try { writeSet(out, { 'minmax.table.json': 'v2', 'minmax.trt.cache': 'v2' }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(CalibrationError);
    expect((err as QcalError).message).toMatch(/no space left on device \(ENOSPC\); nothing in .* was changed/);
    expect(exitCodeFor(err)).toBe(1);
    expect(snapshot(out)).toEqual(before);
    expect(leftovers(out)).toEqual([]);
  });

  it('in place (the output directory contains the working directory): same guarantees, journaled', () => {
    const out = path.join(tmp(), 'out');
    fs.mkdirSync(path.join(out, 'cwd'), { recursive: true });
    writeSet(out, { 'minmax.table.json': 'v1', 'minmax.trt.cache': 'v1' }, ['minmax'], path.join(out, 'cwd'));
    writeSet(out, { 'minmax.table.json': 'v2' }, ['minmax'], path.join(out, 'cwd'));
    expect(ls(out)).toEqual(['cwd', 'minmax.table.json', 'qcal-manifest.json']);
    expect(read(path.join(out, 'minmax.table.json'))).toBe('v2');
  });

  it('recovery: a staging area of a killed run is dropped; an output directory moved aside is moved back', () => {
    const d = tmp();
    const out = path.join(d, 'out');
    writeSet(out, { 'minmax.table.json': 'v1' });
    fs.mkdirSync(path.join(d, '.out.qcal-stage-x'));
    fs.writeFileSync(path.join(d, '.out.qcal-stage-x', 'minmax.table.json'), 'half');
    fs.renameSync(out, path.join(d, '.out.qcal-old-x'));
    fs.writeFileSync(path.join(d, '.x.table.json.999999999.1.tmp'), 'legacy');
    recoverOutputDir(out);
    expect(read(path.join(out, 'minmax.table.json'))).toBe('v1');
    expect(leftovers(out)).toEqual([]);
  });
});

/** Every file under dir with its content. */
function snapshot(dir: string): Record<string, string> {
  const o: Record<string, string> = {};
  const walk = (p: string, rel: string): void => {
    for (const e of fs.readdirSync(p, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(p, e.name), `${rel}${e.name}/`);
      else o[`${rel}${e.name}`] = fs.readFileSync(path.join(p, e.name), 'utf8');
    }
  };
  walk(dir, '');
  return o;
}

// kill -9 between writes, in a child process (the fault hook QCAL_FAULT, used only by tests).
const CORE_DIST = path.resolve(__dirname, '../../dist/index.js');
const childScript = (out: string, version: string, n: number, inPlaceCwd?: string) => `
const { openOutputSet } = require(${JSON.stringify(CORE_DIST)});
const set = openOutputSet(${JSON.stringify(out)}, { command: 'child', owns: ['a', 'b', 'c'], cwd: ${JSON.stringify(inPlaceCwd ?? '/')} });
for (const l of ['a', 'b', 'c']) for (let i = 0; i < ${n}; i++) set.write(l + '.part' + i + '.json', JSON.stringify({ version: ${JSON.stringify(version)}, i }));
set.commit();
`;

describe('kill -9 at every point of a commit (child process)', () => {
  const points = ['output-set.write#1', 'output-set.write#3', 'output-set.write#6', 'output-set.before-swap', 'output-set.mid-swap', 'output-set.after-swap'];
  const inPlacePoints = ['output-set.write#2', 'output-set.before-swap', 'output-set.in-place-rename#1', 'output-set.in-place-rename#2'];
  const run = (out: string, version: string, fault?: string, cwd?: string) => spawnSync(process.execPath, ['-e', childScript(out, version, 2, cwd)], {
    env: { ...process.env, ...(fault ? { QCAL_FAULT: `kill@${fault}` } : {}) }, encoding: 'utf8',
  });
  const versions = (out: string) => [...new Set(Object.values(snapshot(out)).filter((s) => s.startsWith('{"version"')).map((s) => JSON.parse(s).version as string))];

  it.each(points)('killed at %s: the previous set, complete, or the new one; the next run cleans up', (fault) => {
    if (!fs.existsSync(CORE_DIST)) throw new Error(`${CORE_DIST} missing: run tsc -b first`);
    const out = path.join(tmp(), 'out');
    expect(run(out, 'v1').status).toBe(0);
    const old = snapshot(out);
    const r = run(out, 'v2', fault);
    expect(r.signal).toBe('SIGKILL');
    // Between the two renames the directory is briefly absent; the next opener moves the old one back.
    if (!fs.existsSync(out)) recoverOutputDir(out);
    const now = snapshot(out);
    if (fault === 'output-set.after-swap') expect(versions(out)).toEqual(['v2']);
    else expect(now).toEqual(old);
    expect(Object.keys(now)).toHaveLength(7);
    // The next run cleans the killed run's leftovers and commits.
    expect(run(out, 'v3').status).toBe(0);
    expect(versions(out)).toEqual(['v3']);
    expect(leftovers(out)).toEqual([]);
    expect(ls(out).filter((e) => e.startsWith('.'))).toEqual([]);
  });

  it.each(inPlacePoints)('in place, killed at %s: untouched before the journal, completed by the next run after it', (fault) => {
    const out = path.join(tmp(), 'out');
    fs.mkdirSync(path.join(out, 'cwd'), { recursive: true });
    const cwd = path.join(out, 'cwd');
    expect(run(out, 'v1', undefined, cwd).status).toBe(0);
    const old = snapshot(out);
    expect(run(out, 'v2', fault, cwd).signal).toBe('SIGKILL');
    if (!fault.startsWith('output-set.in-place-rename')) expect(Object.fromEntries(Object.entries(snapshot(out)).filter(([k]) => !k.startsWith('.qcal-')))).toEqual(old);
    recoverOutputDir(out);
    const v = versions(out);
    expect(v).toHaveLength(1);
    expect(fault.startsWith('output-set.in-place-rename') ? 'v2' : 'v1').toBe(v[0]);
    expect(ls(out).filter((e) => e.startsWith('.qcal-stage'))).toEqual([]);
  });
});
