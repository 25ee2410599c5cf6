import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../errors';
import { describeFsError } from './output-set-fs';

/**
 * Checks, before any work, that `file` can be written by a single-file output (`qcal quantize
 * --out`, `convert --out`, `evaluate --json`): not a directory, its folder a directory (created if
 * missing) that is writable. `flag` names the option in messages. Returns the absolute path.
 */
export function checkOutputFile(file: string, flag: string, cwd: string = process.cwd()): string {
  const abs = path.resolve(cwd, file);
  let st: fs.Stats | undefined;
  try { st = fs.statSync(abs); } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw new UsageError(`${flag} ${file}: a component of the path is a file, not a directory`);
    if (code !== 'ENOENT') throw new UsageError(`${flag} ${file}: ${describeFsError(err)}`);
  }
  if (st?.isDirectory()) throw new UsageError(`${flag} ${file}: is a directory; expected a file path`);
  if (st && !st.isFile()) throw new UsageError(`${flag} ${file}: exists and is not a regular file`);
  const dir = path.dirname(abs);
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (err) {
    throw new UsageError(`${flag} ${file}: cannot write into ${dir}: ${describeFsError(err)}`);
  }
  return abs;
}
