import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Writes several files all-or-nothing as far as a file system allows: every file is written to a
 * temporary sibling first, and only when all succeeded are they renamed into place. A failure or
 * interruption before the renames leaves every existing file untouched.
 */
export function writeFilesAtomic(files: readonly { path: string; data: string | Uint8Array }[]): void {
  const temps: { tmp: string; dest: string }[] = [];
  try {
    for (const f of files) {
      fs.mkdirSync(path.dirname(f.path), { recursive: true });
      const tmp = path.join(path.dirname(f.path), `.${path.basename(f.path)}.${process.pid}.${Date.now()}.tmp`);
      // Listed before writing: a write that fails part-way (disk full) must not leave its temp file.
      temps.push({ tmp, dest: f.path });
      fs.writeFileSync(tmp, f.data);
    }
  } catch (err) {
    for (const t of temps) fs.rmSync(t.tmp, { force: true });
    throw err;
  }
  try {
    for (const t of temps) fs.renameSync(t.tmp, t.dest);
  } finally {
    for (const t of temps) fs.rmSync(t.tmp, { force: true });
  }
}

/** Writes one file atomically (temporary sibling + rename). */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  writeFilesAtomic([{ path: file, data }]);
}
