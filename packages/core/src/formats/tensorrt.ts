/**
 * TensorRT INT8 calibration cache, as TensorRT's `IInt8Calibrator::writeCalibrationCache`
 * hands it over and `readCalibrationCache` takes it back:
 *
 *   TRT-8601-EntropyCalibration2
 *   input: 3c010204
 *   /conv1/Conv_output_0: 3d7a1a1b
 *
 * Each line after the header is `<tensor name>: <hex>`, the hex being the float32 bit pattern
 * (big-endian reading, 8 lower-case digits here) of the scale `amax / 127`,
 * `amax = max(|min|, |max|)`. The format is symmetric and scale-only: see {@link readTensorrtCache}.
 */
import type { CalibrationTable, TableEntry } from '../table';
import { TableError } from '../errors';
import type { TableFormatOptions, TrtAlgorithm } from './types';
import { TRT_ALGORITHMS } from './types';
import { addTensor, amaxOf, checkTextName, lineError, textLines } from './text-lines';

export const DEFAULT_TRT_VERSION = 8601;

/** The float32 bit pattern of `x` (rounded to float32 first) as 8 lower-case hex digits. */
export function float32Hex(x: number): string {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, x);
  return view.getUint32(0).toString(16).padStart(8, '0');
}

/** The float32 whose bit pattern the hex digits spell (1 to 8 digits, as C's strtoul reads them). */
export function hexFloat32(hex: string): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, parseInt(hex, 16));
  return view.getFloat32(0);
}

/** The header algorithm used for a table: explicit option, a read cache's, else from the collector. */
export function trtAlgorithmFor(table: CalibrationTable, opts: TableFormatOptions): TrtAlgorithm {
  const fromMeta = (table.meta?.tensorrt as { algorithm?: unknown } | undefined)?.algorithm;
  const alg = opts.trtAlgorithm ?? (typeof fromMeta === 'string' ? fromMeta : undefined) ?? (table.collector === 'minmax' ? 'MinMaxCalibration' : 'EntropyCalibration2');
  if (!(TRT_ALGORITHMS as readonly string[]).includes(alg)) {
    throw new TableError(`TensorRT calibration algorithm "${alg}" is not one TensorRT knows; expected one of ${TRT_ALGORITHMS.join(', ')}`);
  }
  return alg as TrtAlgorithm;
}

function trtVersionFor(table: CalibrationTable, opts: TableFormatOptions): number {
  const fromMeta = (table.meta?.tensorrt as { version?: unknown } | undefined)?.version;
  const v = opts.trtVersion ?? (typeof fromMeta === 'number' ? fromMeta : DEFAULT_TRT_VERSION);
  if (!Number.isSafeInteger(v) || v <= 0) {
    throw new TableError(`TensorRT version ${JSON.stringify(v)} is not valid; expected a positive integer such as 8601 (TensorRT 8.6.1)`);
  }
  return v;
}

/** The cache text for a table, tensors in table order, every line `\n`-terminated. */
export function writeTensorrtCache(table: CalibrationTable, opts: TableFormatOptions = {}): string {
  let out = `TRT-${trtVersionFor(table, opts)}-${trtAlgorithmFor(table, opts)}\n`;
  for (const [name, e] of Object.entries(table.tensors)) {
    checkTextName(name, 'TensorRT cache');
    out += `${name}: ${float32Hex(amaxOf(e) / 127)}\n`;
  }
  return out;
}

const HEADER = /^TRT-(\d+)-([A-Za-z0-9_]+)$/;
const ENTRY = /^(.*):[ \t]*([0-9a-fA-F]{1,8})[ \t]*$/;

/**
 * Reads a TensorRT calibration cache. The cache holds only a scale per tensor, so each entry
 * comes back symmetric: `amax = float32(scale * 127)` (the product TensorRT and onnxruntime's
 * TensorRT provider form), `min = -amax`, `max = amax`, `op = ""`. The tensor name is
 * everything before the last colon, so names that contain colons (`x:0`) survive.
 * The header lands in `meta.tensorrt = { version, algorithm }`; `collector` is `entropy` for
 * the Entropy calibrators, `minmax` for MinMaxCalibration, `legacy` for LegacyCalibration.
 */
export function readTensorrtCache(text: string, file: string): CalibrationTable {
  const lines = textLines(text);
  const first = lines[0];
  const m = first ? HEADER.exec(first.text.trim()) : null;
  if (!m) {
    throw lineError(file, 1, `expected a TensorRT calibration cache header such as "TRT-8601-EntropyCalibration2", found ${JSON.stringify(first?.text ?? '')}`);
  }
  const version = Number(m[1]);
  const algorithm = m[2]!;
  const tensors: Record<string, TableEntry> = {};
  for (const line of lines.slice(1)) {
    if (line.text.trim() === '') continue;
    const e = ENTRY.exec(line.text);
    if (!e || e[1] === '') {
      throw lineError(file, line.no, `expected "<tensor name>: <float32 scale as hex>", found ${JSON.stringify(line.text)}`);
    }
    const scale = hexFloat32(e[2]!);
    if (!Number.isFinite(scale) || scale < 0) {
      throw lineError(file, line.no, `scale ${e[2]} is ${scale}, expected a finite non-negative float32`);
    }
    const amax = Math.fround(scale * 127);
    addTensor(tensors, e[1]!, { op: '', min: amax === 0 ? 0 : -amax, max: amax }, () => lineError(file, line.no, `tensor "${e[1]}" appears twice`));
  }
  const collector = algorithm.startsWith('Entropy') ? 'entropy' : algorithm === 'MinMaxCalibration' ? 'minmax' : algorithm === 'LegacyCalibration' ? 'legacy' : 'tensorrt';
  return { collector, options: {}, model: '', samples: 0, tensors, meta: { source: file, tensorrt: { version, algorithm } } };
}
