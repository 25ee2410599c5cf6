import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CalibrationTable } from '../table';
import { validateTable } from '../table';
import { ConfigError, TableError } from '../errors';
import { writeFilesAtomic } from '../atomic-write';
import type { FormatFile, TableFormat, TableFormatOptions } from './types';
import { TABLE_FORMATS } from './types';
import { readQcalJson, writeQcalJson } from './qcal-json';
import { readTensorrtCache, writeTensorrtCache } from './tensorrt';
import { readTpuMlirTable, writeTpuMlirTable } from './tpu-mlir';
import type { OrtFileKind } from './ort';
import { ORT_FILES, readOrtCache, readOrtFlatbuffers, readOrtJson, writeOrtCache, writeOrtFlatbuffers, writeOrtJson } from './ort';
import { detectTableFile } from './detect';

/** True when `s` names a table format. */
export function isTableFormat(s: unknown): s is TableFormat {
  return typeof s === 'string' && (TABLE_FORMATS as readonly string[]).includes(s);
}

function checkFormat(format: unknown): TableFormat {
  if (!isTableFormat(format)) {
    throw new ConfigError(`unknown table format ${JSON.stringify(format)}; expected one of ${TABLE_FORMATS.join(', ')}`);
  }
  return format;
}

/**
 * The file-name stem for a collector: its name with the characters a file name cannot hold
 * (`/ \ : * ? " < > |`, control characters) replaced by `_`, so `acme/percentile` gives
 * `acme_percentile`.
 */
export function collectorFileStem(collector: string): string {
  // eslint-disable-next-line no-control-regex
  const s = collector.replace(/[/\\:*?"<>|\x00-\x1f]/g, '_');
  return s === '' || s === '.' || s === '..' ? 'table' : s;
}

/**
 * The files one format consists of, named relative to an output directory:
 * - `json`: `<stem>.table.json`
 * - `tensorrt`: `<stem>.trt.cache`
 * - `tpu-mlir`: `<stem>.cali_table`
 * - `ort`: `<stem>.ort/calibration.json`, `<stem>.ort/calibration.flatbuffers`,
 *   `<stem>.ort/calibration.cache` (the names onnxruntime writes, in a folder of their own)
 *
 * `<stem>` is `opts.stem` or {@link collectorFileStem} of the collector. The table is
 * validated first.
 */
export function formatFiles(table: CalibrationTable, format: TableFormat, opts: TableFormatOptions = {}): FormatFile[] {
  const t = validateTable(table, `table of collector "${table.collector}"`);
  const stem = opts.stem ?? collectorFileStem(t.collector);
  switch (checkFormat(format)) {
    case 'json': return [{ name: `${stem}.table.json`, data: writeQcalJson(t) }];
    case 'tensorrt': return [{ name: `${stem}.trt.cache`, data: writeTensorrtCache(t, opts) }];
    case 'tpu-mlir': return [{ name: `${stem}.cali_table`, data: writeTpuMlirTable(t, opts) }];
    case 'ort': return [
      { name: `${stem}.ort/${ORT_FILES.json}`, data: writeOrtJson(t, opts) },
      { name: `${stem}.ort/${ORT_FILES.flatbuffers}`, data: writeOrtFlatbuffers(t) },
      { name: `${stem}.ort/${ORT_FILES.cache}`, data: writeOrtCache(t) },
    ];
  }
}

/**
 * Writes a table in several formats into `outDir`, all files or none (writeFilesAtomic).
 * Repeated formats are written once. Returns the paths written.
 */
export function writeTableFormats(outDir: string, table: CalibrationTable, formats: readonly TableFormat[], opts: TableFormatOptions = {}): string[] {
  const unique = [...new Set(formats.map(checkFormat))];
  const files = unique.flatMap((f) => formatFiles(table, f, opts)).map((f) => ({ path: path.join(outDir, f.name), data: f.data }));
  writeFilesAtomic(files);
  return files.map((f) => f.path);
}

export interface ReadTableOptions {
  /** Read as this format instead of detecting it (for `ort`, which of its files is still detected). */
  format?: TableFormat;
}

/**
 * Reads a calibration table in any format into a validated qcal table. The format is detected
 * from the content (and the name where content is ambiguous); `<x>.ort` directories are read
 * through their calibration.json, else .flatbuffers, else .cache. What each format gives back:
 * - json: the table as written;
 * - tensorrt: symmetric `[-amax, amax]` from the scale (see readTensorrtCache);
 * - tpu-mlir: the columns' range, or tpu-mlir's deploy range when the threshold differs
 *   (see readTpuMlirTable);
 * - ort calibration.json: `[lowest, highest]` as float32; .flatbuffers and .cache: symmetric
 *   `[-amax, amax]`.
 * Formats without op names give `op: ""`. Malformed files throw a TableError naming the file
 * (and the line, for text formats).
 */
export function readTableFile(file: string, opts: ReadTableOptions = {}): CalibrationTable {
  const kind = detectTableFile(file, opts.format === undefined ? undefined : checkFormat(opts.format));
  let table: CalibrationTable;
  const text = (): string => fs.readFileSync(kind.path, 'utf8');
  switch (kind.kind) {
    case 'json': table = readQcalJson(text(), kind.path); break;
    case 'tensorrt': table = readTensorrtCache(text(), kind.path); break;
    case 'tpu-mlir': table = readTpuMlirTable(text(), kind.path); break;
    case 'ort-json': table = readOrtJson(text(), kind.path); break;
    case 'ort-flatbuffers': table = readOrtFlatbuffers(fs.readFileSync(kind.path), kind.path); break;
    case 'ort-cache': table = readOrtCache(text(), kind.path); break;
  }
  return validateTable(table, kind.path);
}

/**
 * `qcal convert IN --to FORMAT --out OUT`: reads IN (any format) and writes it as FORMAT.
 * For the one-file formats OUT is the file. For `ort`, OUT ending in `.json`, `.flatbuffers`
 * or `.cache` writes only that file; any other OUT is a directory that receives all three
 * calibration.* files. Returns the paths written.
 */
export function convertTable(inPath: string, toFormat: TableFormat, outPath: string, opts: TableFormatOptions = {}): string[] {
  const table = readTableFile(inPath);
  const files = formatFiles(table, toFormat, opts);
  let out: { path: string; data: string | Uint8Array }[];
  if (toFormat !== 'ort') {
    out = [{ path: outPath, data: files[0]!.data }];
  } else {
    const ext = /\.(json|flatbuffers|cache)$/.exec(outPath)?.[1] as OrtFileKind | undefined;
    if (ext) {
      const f = files.find((x) => x.name.endsWith(`/${ORT_FILES[ext]}`));
      if (!f) throw new TableError(`internal: no ${ext} file for the ort format`);
      out = [{ path: outPath, data: f.data }];
    } else {
      out = files.map((f) => ({ path: path.join(outPath, path.basename(f.name)), data: f.data }));
    }
  }
  writeFilesAtomic(out);
  return out.map((f) => f.path);
}
