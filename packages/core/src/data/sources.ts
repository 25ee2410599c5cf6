/**
 * From a `--data` path to the list of samples, each a set of parts whose headers have been read:
 * a directory (searched recursively, sorted by relative path in code-point order), a list file
 * (tpu-mlir's --data_list: one sample per line, comma-separated per model input, paths relative
 * to the list file, blank lines and `#` comments ignored), or a single .npy/.npz/image file.
 */
import { promises as fsp, type Stats } from 'node:fs';
import * as path from 'node:path';
import { DataError, messageOf } from '../errors';
import { compareCodepoints, mapLimit } from './file-io';
import type { Part, SampleRef } from './part';
import type { ModelInputSpec } from './types';
import { HARD_LIMITS } from '../limits';

export const IMAGE_EXTS = ['.jpg', '.jpeg', '.png', '.bmp', '.webp'];

export type FileKind = 'npy' | 'npz' | 'image' | 'wav';

export function kindOf(file: string): FileKind | undefined {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.npy') return 'npy';
  if (ext === '.npz') return 'npz';
  if (IMAGE_EXTS.includes(ext)) return 'image';
  if (ext === '.wav') return 'wav';
  return undefined;
}

/** Makes parts from files; images need the model input they feed (for preprocessing). */
export interface PartMaker {
  npy(file: string, size: number): Promise<Part>;
  npz(file: string, size: number): Promise<Record<string, Part>>;
  image(file: string, input: ModelInputSpec): Promise<Part>;
  wav(file: string, size: number): Promise<Part>;
}

export interface FileStamp { file: string; size: number; mtimeMs: number }

export interface CollectedSamples {
  samples: SampleRef[];
  stamps: FileStamp[];
  /** Every sample of the data path before selection, as names relative to it (for the data-set identity). */
  allIds: string[];
  /** e.g. "directory calib/ (120 .npy)" */
  what: string;
}

/** A sample's files, as named in a directory or on one line of a list file. */
interface SampleFiles { id: string; files: string[]; where: string }

export async function statOrThrow(file: string, what: string): Promise<Stats> {
  try {
    return await fsp.stat(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DataError(code === 'ENOENT' ? `${what} not found: ${file}` : `${what} ${file}: ${messageOf(err)}`, { cause: err });
  }
}

/**
 * Every file under `root` (relative paths, code-point order), following symbolic links but each real
 * directory once: a link to `.` or to a parent neither loops nor lists a file twice, and a file
 * reached through several links is listed once (under its first path in that order).
 */
async function walk(root: string): Promise<string[]> {
  const found: { rel: string; key: string }[] = [];
  const seenDirs = new Set<string>();
  const visit = async (dir: string, rel: string): Promise<void> => {
    let real: string;
    let entries;
    try {
      real = await fsp.realpath(dir);
      if (seenDirs.has(real)) return;
      seenDirs.add(real);
      entries = await fsp.readdir(dir, { withFileTypes: true });
    } catch (err) {
      throw new DataError(`data directory ${dir}: cannot list (${messageOf(err)})`, { cause: err });
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue; // hidden files and folders (.DS_Store, .git)
      const full = path.join(dir, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      let isDir = e.isDirectory();
      let key = path.join(real, e.name);
      if (e.isSymbolicLink()) {
        isDir = (await fsp.stat(full).catch(() => undefined))?.isDirectory() ?? false;
        key = await fsp.realpath(full).catch(() => key);
      }
      if (isDir) await visit(full, r);
      else found.push({ rel: r, key });
    }
  };
  await visit(root, '');
  found.sort((a, b) => compareCodepoints(a.rel, b.rel));
  const keys = new Set<string>();
  return found.filter((f) => !keys.has(f.key) && keys.add(f.key)).map((f) => f.rel);
}

async function fromDirectory(dir: string, inputs: readonly ModelInputSpec[]): Promise<{ list: SampleFiles[]; what: string }> {
  const rels = await walk(dir);
  const usable = rels.filter((r) => kindOf(r) !== undefined);
  const counts = new Map<string, number>();
  for (const r of usable) counts.set(kindOf(r)!, (counts.get(kindOf(r)!) ?? 0) + 1);
  const summary = [...counts].map(([k, n]) => `${n} ${k === 'image' ? 'images' : '.' + k}`).join(', ');
  const ignored = rels.length - usable.length;
  const what = `directory ${dir} (${summary || 'nothing usable'}${ignored ? `; ${ignored} other files ignored` : ''})`;
  if (inputs.length > 1) {
    // Multi-input: .npz files (one per sample), or one sub-folder per input name whose files
    // pair up by relative path without extension (x/0001.npy + y/0001.npy).
    const names = inputs.map((i) => i.name);
    const perInput = names.every((n) => rels.some((r) => r.startsWith(n + '/')));
    if (perInput) {
      const byStem = new Map<string, Map<string, string>>();
      for (const r of usable) {
        const slash = r.indexOf('/');
        const inputName = r.slice(0, slash);
        if (!names.includes(inputName)) continue;
        const rest = r.slice(slash + 1);
        const stem = rest.slice(0, rest.length - path.extname(rest).length);
        if (!byStem.has(stem)) byStem.set(stem, new Map());
        byStem.get(stem)!.set(inputName, path.join(dir, r));
      }
      const list: SampleFiles[] = [];
      for (const stem of [...byStem.keys()].sort(compareCodepoints)) {
        const m = byStem.get(stem)!;
        const missing = names.filter((n) => !m.has(n));
        if (missing.length) throw new DataError(`data directory ${dir}: sample '${stem}' has no file for input${missing.length > 1 ? 's' : ''} ${missing.map((n) => `'${n}'`).join(', ')} (expected ${missing.map((n) => `${n}/${stem}.*`).join(', ')})`);
        list.push({ id: names.map((n) => m.get(n)!).join(','), files: names.map((n) => m.get(n)!), where: m.get(names[0]!)! });
      }
      return { list, what: `${what}, one folder per input` };
    }
    const notNpz = usable.filter((r) => kindOf(r) !== 'npz');
    if (notNpz.length) {
      throw new DataError(`data directory ${dir}: the model has ${inputs.length} inputs (${names.join(', ')}), so each sample must be an .npz holding all of them, or the folder must hold one sub-folder per input; found ${notNpz[0]} (use a list file to pair files per input)`);
    }
  }
  return { list: usable.map((r) => ({ id: path.join(dir, r), files: [path.join(dir, r)], where: path.join(dir, r) })), what };
}

async function fromListFile(file: string, inputs: readonly ModelInputSpec[], size: number): Promise<{ list: SampleFiles[]; what: string }> {
  if (size > HARD_LIMITS.maxListFileBytes) throw new DataError(`data list ${file}: ${size} bytes; a list file is at most ${HARD_LIMITS.maxListFileBytes} bytes (is --data a data file with an unknown extension?)`);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    throw new DataError(`data list ${file}: cannot read (${messageOf(err)})`, { cause: err });
  }
  const base = path.dirname(file);
  const list: SampleFiles[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `${file}:${i + 1}`;
    const entries = line.split(',').map((s) => s.trim());
    if (entries.some((e) => e === '')) throw new DataError(`${where}: empty path in '${line}'`);
    const single = entries.length === 1 && kindOf(entries[0]!) === 'npz';
    if (!single && entries.length !== inputs.length) {
      throw new DataError(`${where}: ${entries.length} path${entries.length > 1 ? 's' : ''} for a model with ${inputs.length} input${inputs.length > 1 ? 's' : ''} (${inputs.map((x) => x.name).join(', ')}); expected one comma-separated path per input, in that order, or a single .npz`);
    }
    const files = entries.map((e) => path.resolve(base, e));
    for (const [k, f] of files.entries()) {
      if (!kindOf(f)) throw new DataError(`${where}: '${entries[k]}' is not a .npy, .npz, .wav or image file (${IMAGE_EXTS.join(', ')})`);
    }
    list.push({ id: files.join(','), files, where });
  });
  return { list, what: `list file ${file} (${list.length} lines)` };
}

/** Enumerate and header-read every sample of a data path. Throws DataError on the first problem. */
export async function collectSamples(
  data: string,
  inputs: readonly ModelInputSpec[],
  maker: PartMaker,
  cwd: string,
  select: <T>(all: T[]) => T[] = (all) => all,
): Promise<CollectedSamples & { total: number }> {
  const root = path.resolve(cwd, data);
  const st = await statOrThrow(root, 'data');
  let list: SampleFiles[];
  let what: string;
  if (!st.isDirectory() && !st.isFile()) throw new DataError(`data ${root}: not a directory or a regular file (a FIFO, socket or device cannot be read as data)`);
  if (st.isDirectory()) ({ list, what } = await fromDirectory(root, inputs));
  else if (kindOf(root)) ({ list, what } = { list: [{ id: root, files: [root], where: root }], what: `file ${root}` });
  else ({ list, what } = await fromListFile(root, inputs, st.size));
  if (list.length === 0) throw new DataError(`${what}: no samples (expected .npy, .npz or image files${st.isDirectory() ? '' : ', one sample per line'})`);
  const total = list.length;
  const allIds = list.map((s) => s.files.map((f) => path.relative(root, f) || path.basename(f)).join(','));
  // Select before reading headers: numSamples of a million files reads only what it uses.
  list = select(list);

  const stamps = new Map<string, FileStamp>();
  const samples = await mapLimit(list, 16, async (s): Promise<SampleRef> => {
    const parts: Record<string, Part> = {};
    for (const [k, file] of s.files.entries()) {
      const fst = await statOrThrow(file, `data file (${s.where})`);
      if (!fst.isFile()) throw new DataError(`${s.where}: ${file} is not a file`);
      stamps.set(file, { file, size: fst.size, mtimeMs: fst.mtimeMs });
      const kind = kindOf(file)!;
      if (kind === 'npz') {
        let members = await maker.npz(file, fst.size);
        const keys = Object.keys(members);
        // np.savez(f, a, b) names positional arrays arr_0, arr_1, …: take them in input order.
        if (keys.every((k) => /^arr_\d+$/.test(k)) && !keys.some((k) => inputs.some((i) => i.name === k))) {
          members = Object.fromEntries(keys.map((k) => {
            const idx = Number(k.slice(4));
            const input = inputs[idx];
            if (!input) throw new DataError(`${members[k]!.label}: positional array ${k} but the model has ${inputs.length} input${inputs.length > 1 ? 's' : ''}`);
            return [input.name, members[k]!];
          }));
        }
        for (const [name, p] of Object.entries(members)) {
          if (parts[name]) throw new DataError(`${s.where}: input '${name}' given twice (${parts[name]!.label} and ${p.label})`);
          parts[name] = p;
        }
        continue;
      }
      const input = inputs[k];
      if (!input) throw new DataError(`${s.where}: more files than model inputs`);
      if (parts[input.name]) throw new DataError(`${s.where}: input '${input.name}' given twice (${parts[input.name]!.label} and ${file})`);
      parts[input.name] = kind === 'npy' ? await maker.npy(file, fst.size) : kind === 'wav' ? await maker.wav(file, fst.size) : await maker.image(file, input);
    }
    return { id: s.id, parts };
  });
  const sorted = [...stamps.values()].sort((a, b) => compareCodepoints(a.file, b.file));
  return { samples, stamps: sorted, what, total, allIds };
}
