import * as fs from 'node:fs';
import * as path from 'node:path';
import { TableError } from '../errors';
import type { TableFormat } from './types';
import { ORT_FILES } from './ort';
import { parseDecimal } from './text-lines';

/** What a table file is: one of the one-file formats, or one of onnxruntime's three files. */
export type TableFileKind = 'json' | 'tensorrt' | 'tpu-mlir' | 'ort-json' | 'ort-flatbuffers' | 'ort-cache';

const HEAD_BYTES = 64 * 1024;

function looksBinary(buf: Uint8Array): boolean {
  if (buf.includes(0)) return true;
  try { new TextDecoder('utf-8', { fatal: true }).decode(buf); return false; } catch { return true; }
}

function firstLine(text: string): string {
  for (const l of text.split('\n')) if (l.trim() !== '') return l.trim();
  return '';
}

/** The kind of a text file by content, falling back to its name when content is ambiguous. */
function textKind(file: string, text: string): TableFileKind | undefined {
  const t = text.trimStart();
  const base = path.basename(file);
  if (t.startsWith('{')) return /"CLS"\s*:\s*"TensorsData"/.test(t) || !/"tensors"\s*:/.test(t) ? 'ort-json' : 'json';
  const first = firstLine(text);
  if (first.startsWith('TRT-')) return 'tensorrt';
  if (first.startsWith('#') || base.includes('cali_table')) return 'tpu-mlir';
  if (base.endsWith('.cache')) return 'ort-cache';
  const fields = first.split(/\s+/);
  if (fields.length >= 4 && fields.slice(-3).every((f) => parseDecimal(f) !== undefined)) return 'tpu-mlir';
  if (fields.length >= 2 && parseDecimal(fields[fields.length - 1]!) !== undefined) return 'ort-cache';
  return undefined;
}

/**
 * Finds which reader a path needs. A directory is taken as an onnxruntime output folder
 * (calibration.json, else .flatbuffers, else .cache). `format` narrows the choice:
 * `json` means qcal's own JSON, `ort` any of onnxruntime's files.
 */
/** Largest calibration table file read (1 GiB). */
const MAX_TABLE_BYTES = 1024 ** 3;

export function detectTableFile(file: string, format?: TableFormat): { path: string; kind: TableFileKind } {
  let stat: fs.Stats;
  try { stat = fs.statSync(file); } catch (err) {
    throw new TableError(`${file}: cannot read the calibration table (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
  }
  if (stat.isDirectory()) {
    for (const [kind, name] of [['ort-json', ORT_FILES.json], ['ort-flatbuffers', ORT_FILES.flatbuffers], ['ort-cache', ORT_FILES.cache]] as const) {
      const p = path.join(file, name);
      if (fs.existsSync(p)) {
        detectTableFile(p, 'ort'); // the same checks (a regular file of bounded size)
        return { path: p, kind };
      }
    }
    throw new TableError(`${file}: is a directory without ${Object.values(ORT_FILES).join(', ')}; expected a table file or an onnxruntime calibration folder`);
  }
  // A FIFO or a device would block or never end; a table is text of at most a few hundred MB.
  if (!stat.isFile()) throw new TableError(`${file}: not a regular file; expected a calibration table file or an onnxruntime calibration folder`);
  if (stat.size > MAX_TABLE_BYTES) throw new TableError(`${file}: ${stat.size} bytes; a calibration table is at most ${MAX_TABLE_BYTES} bytes`);
  const fd = fs.openSync(file, 'r');
  let head: Buffer;
  try {
    const buf = Buffer.alloc(Math.min(HEAD_BYTES, stat.size));
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    head = buf.subarray(0, n);
  } finally { fs.closeSync(fd); }
  const binary = file.endsWith('.flatbuffers') || looksBinary(head);
  let kind: TableFileKind | undefined = binary ? 'ort-flatbuffers' : textKind(file, head.toString('utf8'));
  if (format === 'json' && kind !== 'json') {
    throw new TableError(`${file}: is not a qcal table JSON (${kind ? `it looks like ${kind}` : 'format not recognised'}); expected { "collector", ..., "tensors" }`);
  }
  if (format === 'ort' && !kind?.startsWith('ort-')) kind = file.endsWith('.json') ? 'ort-json' : 'ort-cache';
  if (format === 'tensorrt' || format === 'tpu-mlir') kind = format;
  if (kind === undefined) {
    throw new TableError(`${file}: not a calibration table qcal recognises; expected qcal JSON, a TensorRT cache (first line "TRT-<version>-<algorithm>"), a tpu-mlir cali table ("name threshold min max" lines) or onnxruntime's calibration.json/.flatbuffers/.cache`);
  }
  return { path: file, kind };
}
