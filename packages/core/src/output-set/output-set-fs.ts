import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { UsageError } from '../errors';

/** The manifest every output set carries: which run wrote which file. */
export const MANIFEST_NAME = 'qcal-manifest.json';
/** In-place commits stage inside the output directory under this prefix. */
export const INSIDE_PREFIX = '.qcal-';

export interface ManifestRun {
  readonly id: string;
  readonly command: string;
  readonly qcalVersion: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly host: string;
  readonly pid: number;
  readonly [extra: string]: unknown;
}

/** `<out>/qcal-manifest.json`. */
export interface OutputManifest {
  readonly format: 'qcal-output-set';
  readonly version: 1;
  /** The run that committed this set last. */
  readonly run: string;
  /** Every file qcal wrote into the directory (relative, '/'-separated) → its bytes, sha256 and run. */
  readonly files: Readonly<Record<string, { readonly bytes: number; readonly sha256: string; readonly run: string }>>;
  /** The runs named in `files`. */
  readonly runs: Readonly<Record<string, ManifestRun>>;
}

/** The manifest of `dir`, or undefined when it has none (or an unreadable one). */
export function readManifest(dir: string): OutputManifest | undefined {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST_NAME), 'utf8')) as OutputManifest;
    return m?.format === 'qcal-output-set' && m.files && typeof m.files === 'object' && m.runs && typeof m.runs === 'object' ? m : undefined;
  } catch {
    return undefined;
  }
}

/** Refuses names that could leave the output directory or clash with the set's own files. */
export function checkOutputName(name: string): string {
  const parts = name.split('/');
  if (!name || path.isAbsolute(name) || name.includes('\\') || name.includes('\0')
    || parts.some((p) => p === '' || p === '.' || p === '..')
    || parts[0]!.startsWith(INSIDE_PREFIX) || name === MANIFEST_NAME) {
    throw new UsageError(`output file name ${JSON.stringify(name)} is not a plain relative name inside the output directory`);
  }
  return name;
}

/** Whether a process with this id runs on this machine. */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the lock file (O_EXCL). A lock left by a dead process (a killed run) is taken over; one held
 * by a live process is an error naming it. Returns the release function.
 */
export function takeLock(lockPath: string, out: string): () => void {
  const body = JSON.stringify({ pid: process.pid, host: os.hostname(), at: new Date().toISOString() });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(lockPath, body, { flag: 'wx' });
      return () => { try { fs.rmSync(lockPath, { force: true }); } catch { /* already gone */ } };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        // 'wx' created it and the write failed (a full disk): it is ours, leave nothing behind.
        try { fs.rmSync(lockPath, { force: true }); } catch { /* never created */ }
        throw err;
      }
      let holder: { pid?: number; host?: string } = {};
      try { holder = JSON.parse(fs.readFileSync(lockPath, 'utf8')) as typeof holder; } catch { /* torn or gone: stale */ }
      const live = holder.pid !== undefined && holder.pid !== process.pid && (holder.host ?? os.hostname()) === os.hostname() && processAlive(holder.pid);
      if (live) throw new UsageError(`--out ${out}: another qcal process (pid ${holder.pid}) is writing there; wait for it or choose another --out`);
      fs.rmSync(lockPath, { force: true });
    }
  }
  throw new UsageError(`--out ${out}: cannot take the lock ${lockPath}`);
}

/** Every regular file under `dir` (relative, '/'-separated), sorted. */
export function listFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(path.join(dir, e.name), rel));
    else if (e.isFile()) out.push(rel);
  }
  return out;
}

/** Counts entries under `p` (lstat, not following links), stopping past `cap`. */
export function countEntries(p: string, cap: number): number {
  let n = 0;
  const walk = (q: string): void => {
    if (++n > cap) return;
    const st = fs.lstatSync(q);
    if (st.isDirectory()) for (const e of fs.readdirSync(q)) { walk(path.join(q, e)); if (n > cap) return; }
  };
  walk(p);
  return n;
}

/** Copies a tree by hard links (a copy where links are impossible); symlinks are recreated as links. */
export function linkTree(src: string, dst: string): void {
  const st = fs.lstatSync(src);
  if (st.isDirectory()) {
    fs.mkdirSync(dst);
    for (const e of fs.readdirSync(src)) linkTree(path.join(src, e), path.join(dst, e));
  } else if (st.isSymbolicLink()) {
    fs.symlinkSync(fs.readlinkSync(src), dst);
  } else if (st.isFile()) {
    try { fs.linkSync(src, dst); } catch { fs.copyFileSync(src, dst); }
  }
  // Sockets, FIFOs and devices are not carried over.
}

export function sha256File(file: string): { bytes: number; sha256: string } {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  let bytes = 0;
  try {
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0;) { h.update(buf.subarray(0, n)); bytes += n; }
  } finally {
    fs.closeSync(fd);
  }
  return { bytes, sha256: h.digest('hex') };
}

/** The file-system error of a failed write as one line. */
export function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const why: Record<string, string> = {
    ENOSPC: 'no space left on device', EDQUOT: 'disk quota exceeded', EROFS: 'read-only file system',
    EACCES: 'permission denied', EPERM: 'operation not permitted', ENOTDIR: 'a path component is a file, not a directory',
    EEXIST: 'exists', EISDIR: 'is a directory', EIO: 'i/o error', ENAMETOOLONG: 'name too long', ELOOP: 'too many symbolic links',
  };
  return e?.code && why[e.code] ? `${why[e.code]} (${e.code})` : (e?.message ?? String(err));
}
