import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { CalibrationError, UsageError } from '../errors';
import type { Logger } from '../logger';
import { silentLogger } from '../logger';
import { faultPoint } from './fault';
import {
  MANIFEST_NAME, INSIDE_PREFIX, readManifest, checkOutputName, takeLock, listFiles, countEntries, linkTree, sha256File,
  describeFsError, processAlive, type ManifestRun, type OutputManifest,
} from './output-set-fs';

export interface OutputSetOptions {
  /** The command writing the set, recorded in the manifest (`calibrate`, `merge`, ...). */
  readonly command: string;
  /**
   * Label prefixes this run owns: a file or folder `<label>.*` left by an earlier run that this run
   * does not write again is stale and removed when the set is committed (e.g. the TensorRT cache
   * of a collector now run without `--format tensorrt`). Everything else in the directory is kept.
   */
  readonly owns?: readonly string[];
  /** Name endings never removed as stale (e.g. `.snapshot`: a merge into a shard directory keeps its inputs). */
  readonly keep?: readonly string[];
  /** Extra facts about the run for the manifest (collectors, shard, ...). JSON-serialisable. */
  readonly info?: Readonly<Record<string, unknown>>;
  readonly logger?: Logger;
  /** The working directory: an `--out` that contains it is committed in place (it cannot be swapped). */
  readonly cwd?: string;
}

/**
 * A run's output files, staged and then made visible together. Write every file with
 * {@link OutputSet.write} (or to {@link OutputSet.pathFor} for writers that take a path), then
 * {@link OutputSet.commit}; {@link OutputSet.abort} (also safe after commit) drops the staged files.
 */
export interface OutputSet {
  /** The output directory (absolute; the real path when `--out` is a symbolic link). */
  readonly dir: string;
  readonly runId: string;
  /** Where, inside the staging area, the file `name` (relative to the output directory) goes; parents created. */
  pathFor(name: string): string;
  write(name: string, data: string | Uint8Array): void;
  /** The final path of `name` once committed. */
  finalPath(name: string): string;
  /** Makes every staged file appear in the output directory at once. Returns their final paths. */
  commit(): string[];
  abort(): void;
}

/** Past this many entries of other origin in `--out`, the set is committed in place instead of copied by links. */
const MAX_CARRIED_ENTRIES = 10_000;

/**
 * Opens an output set for directory `out`. Everything that can be checked before any work is
 * checked here (call it before the first inference): `out` is a directory or can be created, is
 * writable, is not being written by another live qcal process. Leftovers of a killed run are
 * cleaned first (its staging area dropped; an output directory moved aside and not replaced is
 * moved back).
 *
 * Commit: normally the staging directory sits beside `out` (`.<out>.qcal-stage-*`) and is renamed
 * over it (the previous directory moved aside, then removed), with the files of other collectors
 * and of other tools carried over by hard links. When `out` is a mount point or contains the
 * working directory it cannot be renamed: the set is then staged inside it and committed by a
 * journal that a killed run's successor completes.
 */
export function openOutputSet(out: string, opts: OutputSetOptions): OutputSet {
  const logger = opts.logger ?? silentLogger;
  const startedAt = new Date().toISOString();
  const runId = `${startedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const dir = resolveOutDir(out);
  const owns = opts.owns ?? [];
  const keepEnds = opts.keep ?? [];
  const stale: Stale = (e) => owns.some((l) => e.startsWith(`${l}.`)) && !keepEnds.some((k) => e.endsWith(k));
  const parent = path.dirname(dir);
  const base = path.basename(dir);
  try {
    fs.mkdirSync(parent, { recursive: true });
  } catch (err) {
    throw new UsageError(`--out ${out}: cannot create its parent directory ${parent}: ${describeFsError(err)}`);
  }
  const exists = fs.existsSync(dir);
  if (exists) {
    try { fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK); } catch (err) {
      throw new UsageError(`--out ${out}: cannot write into ${dir}: ${describeFsError(err)}`);
    }
  }
  const cwd = path.resolve(opts.cwd ?? process.cwd());
  const containsCwd = cwd === dir || cwd.startsWith(`${dir}${path.sep}`);
  const mountPoint = exists && fs.statSync(dir).dev !== fs.statSync(parent).dev;
  let inPlace = containsCwd || mountPoint || parent === dir;
  const lockPath = inPlace ? path.join(dir, `${INSIDE_PREFIX}lock`) : path.join(parent, `.${base}.qcal-lock`);
  let release: () => void;
  try {
    if (inPlace) fs.mkdirSync(dir, { recursive: true });
    release = takeLock(lockPath, out);
  } catch (err) {
    throw cannotOpen(out, err);
  }
  let stage: string;
  try {
    recoverOutputDir(dir, logger);
    if (!inPlace && exists && carriedCount(dir, stale) > MAX_CARRIED_ENTRIES) inPlace = true;
    stage = inPlace ? path.join(dir, `${INSIDE_PREFIX}stage-${runId}`) : path.join(parent, `.${base}.qcal-stage-${runId}`);
    faultPoint('output-set.open');
    fs.mkdirSync(stage);
  } catch (err) {
    release();
    throw cannotOpen(out, err);
  }
  const written = new Set<string>();
  let state: 'open' | 'committed' | 'aborted' = 'open';
  const fail = (what: string, err: unknown): never => {
    abort();
    throw new CalibrationError(`cannot write ${what} in ${dir}: ${describeFsError(err)}; nothing in ${dir} was changed`, { cause: err });
  };
  const abort = (): void => {
    if (state !== 'open') return;
    state = 'aborted';
    try { fs.rmSync(stage, { recursive: true, force: true }); } finally { release(); }
  };
  const pathFor = (name: string): string => {
    if (state !== 'open') throw new Error(`output set for ${dir} is already ${state}`);
    const p = path.join(stage, checkOutputName(name));
    try { fs.mkdirSync(path.dirname(p), { recursive: true }); } catch (err) { fail(name, err); }
    written.add(name);
    return p;
  };
  const commit = (): string[] => {
    if (state !== 'open') throw new Error(`output set for ${dir} is already ${state}`);
    const files = listFiles(stage);
    try {
      faultPoint('output-set.before-swap');
      const run: ManifestRun = { id: runId, command: opts.command, qcalVersion: QCAL_VERSION, startedAt, finishedAt: new Date().toISOString(), host: os.hostname(), pid: process.pid, ...opts.info };
      if (inPlace) commitInPlace(dir, stage, files, stale, run);
      else commitBySwap(dir, parent, base, stage, runId, files, stale, run);
    } catch (err) {
      if (inPlace && fs.existsSync(path.join(stage, `${INSIDE_PREFIX}journal`))) {
        // Past the commit point: the journal stays for the next run to complete.
        state = 'committed';
        release();
        throw new CalibrationError(`committing the outputs in ${dir} was interrupted: ${describeFsError(err)}; the next qcal run writing there completes it`, { cause: err });
      }
      fail('the output set', err);
    }
    state = 'committed';
    release();
    return files.map((f) => path.join(dir, f));
  };
  return {
    dir,
    runId,
    pathFor,
    write(name, data) {
      const p = pathFor(name);
      try {
        faultPoint('output-set.write');
        fs.writeFileSync(p, data);
      } catch (err) {
        fail(name, err);
      }
    },
    finalPath: (name) => path.join(dir, checkOutputName(name)),
    commit,
    abort,
  };
}

/**
 * Why `--out` cannot be opened: a place that cannot take outputs (read-only, not permitted, a file
 * in the path) is bad usage (exit 2); a disk that is full or failing makes the run fail (exit 1).
 */
function cannotOpen(out: string, err: unknown): Error {
  if (err instanceof UsageError || err instanceof CalibrationError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  const msg = `--out ${out}: cannot write there: ${describeFsError(err)}`;
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'EIO' ? new CalibrationError(`${msg}; nothing in it was changed`, { cause: err }) : new UsageError(msg, { cause: err });
}

/** The absolute output directory: a symbolic link is followed (its target is swapped, not the link). */
function resolveOutDir(out: string): string {
  const abs = path.resolve(out);
  let st: fs.Stats | undefined;
  try { st = fs.statSync(abs); } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw new UsageError(`--out ${out}: a component of the path is a file, not a directory`);
    if (code === 'ELOOP') throw new UsageError(`--out ${out}: too many levels of symbolic links`);
    if (code !== 'ENOENT') throw new UsageError(`--out ${out}: ${describeFsError(err)}`);
  }
  if (st && !st.isDirectory()) throw new UsageError(`--out ${out}: exists and is not a directory; --out names the directory the outputs go into`);
  if (!st) {
    // A dangling link or a missing directory: the parent must be creatable (checked by the caller).
    try { if (fs.lstatSync(abs).isSymbolicLink()) throw new UsageError(`--out ${out}: a symbolic link to a missing target`); } catch (err) { if (err instanceof UsageError) throw err; }
    return abs;
  }
  return fs.realpathSync(abs);
}

/** Whether a top-level entry of an earlier run is stale (owned by this run's collectors, not kept). */
type Stale = (entry: string) => boolean;

/** Top-level entries of `dir` the next commit copies over (not the set's own, not `owns`' stale ones). */
function carriedEntries(dir: string, stale: Stale, replaced: ReadonlySet<string>): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((e) => e !== MANIFEST_NAME && !e.startsWith(INSIDE_PREFIX) && !replaced.has(e)
    && !stale(e) && !LEGACY_TEMP.test(e));
}

function carriedCount(dir: string, stale: Stale): number {
  let n = 0;
  for (const e of carriedEntries(dir, stale, new Set())) { n += countEntries(path.join(dir, e), MAX_CARRIED_ENTRIES + 1 - n); if (n > MAX_CARRIED_ENTRIES) break; }
  return n;
}

/** Temporary files of earlier qcal versions' atomic writes (`.<name>.<pid>.<ms>.tmp`). */
const LEGACY_TEMP = /^\..+\.(\d+)\.\d+\.tmp$/;

function newManifest(dir: string, stage: string, files: readonly string[], carried: readonly string[], run: ManifestRun): OutputManifest {
  const prev = readManifest(dir);
  const entries: Record<string, OutputManifest['files'][string]> = {};
  const runs: Record<string, ManifestRun> = { [run.id]: run };
  const carriedSet = new Set(carried);
  for (const [name, e] of Object.entries(prev?.files ?? {})) {
    if (!carriedSet.has(name.split('/')[0]!) || !fs.existsSync(path.join(dir, name))) continue;
    entries[name] = e;
    const r = prev!.runs[e.run];
    if (r) runs[e.run] = r;
  }
  for (const f of files) entries[f] = { ...sha256File(path.join(stage, f)), run: run.id };
  return { format: 'qcal-output-set', version: 1, run: run.id, files: sortKeys(entries), runs };
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function commitBySwap(dir: string, parent: string, base: string, stage: string, runId: string, files: readonly string[], stale: Stale, run: ManifestRun): void {
  const replaced = new Set(files.map((f) => f.split('/')[0]!));
  const carried = carriedEntries(dir, stale, replaced);
  for (const e of carried) linkTree(path.join(dir, e), path.join(stage, e));
  fs.writeFileSync(path.join(stage, MANIFEST_NAME), `${JSON.stringify(newManifest(dir, stage, files, carried, run), null, 2)}\n`);
  const old = path.join(parent, `.${base}.qcal-old-${runId}`);
  const had = fs.existsSync(dir);
  if (had) fs.renameSync(dir, old);
  faultPoint('output-set.mid-swap');
  try {
    fs.renameSync(stage, dir);
  } catch (err) {
    if (had) fs.renameSync(old, dir);
    throw err;
  }
  faultPoint('output-set.after-swap');
  if (had) fs.rmSync(old, { recursive: true, force: true });
}

interface Journal { remove: string[]; place: string[] }

function commitInPlace(dir: string, stage: string, files: readonly string[], stale: Stale, run: ManifestRun): void {
  const top = [...new Set(files.map((f) => f.split('/')[0]!))];
  const keep = new Set(carriedEntries(dir, stale, new Set(top)));
  const remove = fs.readdirSync(dir).filter((e) => !keep.has(e) && !top.includes(e) && !e.startsWith(INSIDE_PREFIX) && e !== MANIFEST_NAME);
  fs.writeFileSync(path.join(stage, `${INSIDE_PREFIX}manifest`), `${JSON.stringify(newManifest(dir, stage, files, [...keep], run), null, 2)}\n`);
  // The commit point: once the journal exists, the set is committed and any later run completes it.
  const journal: Journal = { remove, place: top };
  fs.writeFileSync(path.join(stage, `${INSIDE_PREFIX}journal.tmp`), JSON.stringify(journal));
  fs.renameSync(path.join(stage, `${INSIDE_PREFIX}journal.tmp`), path.join(stage, `${INSIDE_PREFIX}journal`));
  applyJournal(dir, stage);
}

/** Completes an in-place commit (idempotent: a killed application is resumed). */
function applyJournal(dir: string, stage: string): void {
  const journal = JSON.parse(fs.readFileSync(path.join(stage, `${INSIDE_PREFIX}journal`), 'utf8')) as Journal;
  // Without a manifest the directory does not claim to be a complete set while entries move.
  fs.rmSync(path.join(dir, MANIFEST_NAME), { force: true });
  for (const e of journal.remove) fs.rmSync(path.join(dir, e), { recursive: true, force: true });
  for (const e of journal.place) {
    const from = path.join(stage, e);
    if (!fs.existsSync(from)) continue;
    faultPoint('output-set.in-place-rename');
    const to = path.join(dir, e);
    if (fs.lstatSync(from).isDirectory()) fs.rmSync(to, { recursive: true, force: true });
    fs.renameSync(from, to);
  }
  const manifest = path.join(stage, `${INSIDE_PREFIX}manifest`);
  if (fs.existsSync(manifest)) fs.renameSync(manifest, path.join(dir, MANIFEST_NAME));
  fs.rmSync(stage, { recursive: true, force: true });
}

/**
 * Cleans what killed runs left around output directory `dir` (call with its lock held):
 * staging areas are dropped, a directory moved aside and never replaced is moved back, an in-place
 * commit whose journal was written is completed, and earlier versions' temporary files are removed.
 */
export function recoverOutputDir(dir: string, logger: Logger = silentLogger): void {
  const parent = path.dirname(dir);
  const base = path.basename(dir);
  const prefix = `.${base}.qcal-`;
  const leftovers = fs.existsSync(parent) ? fs.readdirSync(parent).filter((e) => e.startsWith(prefix) && !e.endsWith('-lock')) : [];
  for (const e of leftovers.filter((x) => x.startsWith(`${prefix}old-`))) {
    const p = path.join(parent, e);
    if (!fs.existsSync(dir)) {
      fs.renameSync(p, dir);
      logger.warn(`${dir}: an earlier run was killed while replacing its outputs; the previous outputs were restored`);
    } else {
      fs.rmSync(p, { recursive: true, force: true });
    }
  }
  for (const e of leftovers.filter((x) => x.startsWith(`${prefix}stage-`))) {
    fs.rmSync(path.join(parent, e), { recursive: true, force: true });
    logger.info(`${dir}: removed the unfinished outputs of an interrupted run (${e})`);
  }
  if (!fs.existsSync(dir)) return;
  for (const e of fs.readdirSync(dir)) {
    const p = path.join(dir, e);
    if (e.startsWith(`${INSIDE_PREFIX}stage-`)) {
      if (fs.existsSync(path.join(p, `${INSIDE_PREFIX}journal`))) {
        applyJournal(dir, p);
        logger.warn(`${dir}: completed the outputs of a run that was killed while committing them`);
      } else {
        fs.rmSync(p, { recursive: true, force: true });
      }
    } else {
      const legacy = LEGACY_TEMP.exec(e);
      if (legacy && !processAlive(Number(legacy[1]))) fs.rmSync(p, { force: true });
    }
  }
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const QCAL_VERSION: string = (require('../../package.json') as { version: string }).version;
