/**
 * onnxruntime's calibration files, as `onnxruntime.quantization.write_calibration_table`
 * writes them (`quant_utils.py`) for its TensorRT execution provider:
 *
 * - `calibration.json`: `json.dumps` of the `TensorsData`, one line, no final newline:
 *   `{"CLS": "TensorsData", "data": {"<name>": {"lowest": {"data": …, "dtype": "float32",
 *   "CLS": "numpy.array"}, "highest": {…}, "CLS": "TensorData"}, …}, "calibration_method":
 *   {"CLS": "CalibrationMethod", "value": "CalibrationMethod.MinMax"}}`. onnxruntime keeps
 *   ranges as float32 numpy values, so qcal rounds min/max to float32 here too; MinMax ranges
 *   are one-element arrays (`"data": [-1.0]`, the shape `MinMaxCalibrater` produces), the
 *   other methods' scalars (`"data": -1.0`).
 * - `calibration.flatbuffers`: a `TrtTable` whose `dict` holds `KeyValue(key=name,
 *   value=str(amax))` for the names in sorted order (the vector ends up reversed, see
 *   {@link encodeTrtTable}); `amax = max(|lowest|, |highest|)`, the dynamic range the TensorRT
 *   provider reads (recent onnxruntime writes `max(highest, lowest)`, the same number for a
 *   symmetric range but not for an asymmetric one; qcal writes the amax the provider expects).
 * - `calibration.cache`: `<name> <amax>\n` per tensor, names sorted.
 *
 * Numbers are written as Python's `str(float)` of the float32 value (`0.10000000149011612`).
 */
import type { CalibrationTable, TableEntry } from '../table';
import { nestingDepth, MAX_NESTING } from '../config/config-size';
import { TableError } from '../errors';
import type { OrtCalibrationMethod, TableFormatOptions } from './types';
import { compareCodePoints, pythonFloatRepr, pythonJsonString } from './py-format';
import { decodeTrtTable, encodeTrtTable } from './flatbuffers';
import { addTensor, checkTextName, lineError, parseDecimal, textLines } from './text-lines';

export const ORT_FILES = { json: 'calibration.json', flatbuffers: 'calibration.flatbuffers', cache: 'calibration.cache' } as const;
export type OrtFileKind = keyof typeof ORT_FILES;

const METHODS: readonly OrtCalibrationMethod[] = ['MinMax', 'Entropy', 'Percentile', 'Distribution'];
const METHOD_OF_COLLECTOR: Record<string, OrtCalibrationMethod> = { minmax: 'MinMax', entropy: 'Entropy', percentile: 'Percentile', distribution: 'Distribution' };
const COLLECTOR_OF_METHOD: Record<OrtCalibrationMethod, string> = { MinMax: 'minmax', Entropy: 'entropy', Percentile: 'percentile', Distribution: 'distribution' };

function methodFor(table: CalibrationTable, opts: TableFormatOptions): OrtCalibrationMethod {
  const fromMeta = (table.meta?.ort as { calibrationMethod?: unknown } | undefined)?.calibrationMethod;
  const m = opts.ortCalibrationMethod ?? (typeof fromMeta === 'string' ? fromMeta : undefined) ?? METHOD_OF_COLLECTOR[table.collector] ?? 'MinMax';
  if (!(METHODS as readonly string[]).includes(m)) {
    throw new TableError(`onnxruntime calibration method "${m}" is not one onnxruntime knows; expected one of ${METHODS.join(', ')}`);
  }
  return m as OrtCalibrationMethod;
}

/** The float32 amax of a range, as onnxruntime would hold it. */
function f32Amax(e: TableEntry): number {
  return Math.max(Math.abs(Math.fround(e.min)), Math.abs(Math.fround(e.max)));
}

function sortedNames(table: CalibrationTable): string[] {
  return Object.keys(table.tensors).sort(compareCodePoints);
}

/** `calibration.json` text (tensors in table order, as onnxruntime keeps its dict order). */
export function writeOrtJson(table: CalibrationTable, opts: TableFormatOptions = {}): string {
  const method = methodFor(table, opts);
  const num = (x: number): string => {
    const r = pythonFloatRepr(Math.fround(x));
    return `{"data": ${method === 'MinMax' ? `[${r}]` : r}, "dtype": "float32", "CLS": "numpy.array"}`;
  };
  const items = Object.entries(table.tensors).map(([name, e]) =>
    `${pythonJsonString(name)}: {"lowest": ${num(e.min)}, "highest": ${num(e.max)}, "CLS": "TensorData"}`);
  return `{"CLS": "TensorsData", "data": {${items.join(', ')}}, "calibration_method": {"CLS": "CalibrationMethod", "value": "CalibrationMethod.${method}"}}`;
}

/** `calibration.flatbuffers` bytes. */
export function writeOrtFlatbuffers(table: CalibrationTable): Uint8Array {
  return encodeTrtTable(sortedNames(table).map((n) => [n, pythonFloatRepr(f32Amax(table.tensors[n]!))] as const));
}

/** `calibration.cache` text. */
export function writeOrtCache(table: CalibrationTable): string {
  return sortedNames(table).map((n) => {
    checkTextName(n, 'onnxruntime calibration.cache');
    return `${n} ${pythonFloatRepr(f32Amax(table.tensors[n]!))}\n`;
  }).join('');
}

function ortTable(tensors: Record<string, TableEntry>, file: string, method?: OrtCalibrationMethod): CalibrationTable {
  return {
    collector: method ? COLLECTOR_OF_METHOD[method] : 'ort',
    options: {},
    model: '',
    samples: 0,
    tensors,
    meta: { source: file, ...(method ? { ort: { calibrationMethod: method } } : {}) },
  };
}

function symmetric(amax: number): TableEntry {
  return { op: '', min: amax === 0 ? 0 : -amax, max: amax };
}

/** Line number of a character position, for JSON syntax errors. */
function lineOf(text: string, pos: number): number {
  return text.slice(0, pos).split('\n').length;
}

/** Parses JSON, turning a syntax error into a TableError naming the file and line. */
export function parseJsonFile(text: string, file: string): unknown {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const pos = /position (\d+)/.exec(msg);
    const where = pos ? `${file}:${lineOf(text, Number(pos[1]))}` : file;
    throw new TableError(`${where}: not valid JSON (${msg})`, { cause: err });
  }
  // Later steps (writing, fingerprints) recurse: a table is never deeply nested.
  if (nestingDepth(v) > MAX_NESTING) throw new TableError(`${file}: values nested more than ${MAX_NESTING} levels deep; not a calibration table`);
  return v;
}

/** A float from `calibration.json`: a number, a `numpy.array` object, or a one-element array. */
function jsonScalar(v: unknown, what: string, file: string): number {
  let x: unknown = v;
  if (typeof x === 'object' && x !== null && !Array.isArray(x) && 'data' in x) x = (x as { data: unknown }).data;
  while (Array.isArray(x) && x.length === 1) x = x[0];
  if (Array.isArray(x)) {
    throw new TableError(`${file}: ${what} has ${x.length} values (a per-channel range); qcal tables hold one range per tensor`);
  }
  if (typeof x !== 'number' || !Number.isFinite(x)) {
    throw new TableError(`${file}: ${what} is ${JSON.stringify(v)}; expected a finite number (or {"data": number, "dtype": "float32", "CLS": "numpy.array"})`);
  }
  return x;
}

/**
 * Reads `calibration.json`: the `TensorsData` form (onnxruntime ≥ 1.17) or the older plain
 * `{"name": [lowest, highest]}`. Ranges come back as written (`lowest`, `highest`), so this is
 * the one onnxruntime file that keeps asymmetric ranges.
 */
export function readOrtJson(text: string, file: string): CalibrationTable {
  const root = parseJsonFile(text, file);
  if (typeof root !== 'object' || root === null || Array.isArray(root)) {
    throw new TableError(`${file}: expected onnxruntime's calibration.json object, found ${Array.isArray(root) ? 'an array' : typeof root}`);
  }
  const obj = root as Record<string, unknown>;
  const tensors: Record<string, TableEntry> = {};
  if (obj.CLS === 'TensorsData') {
    const data = obj.data;
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      throw new TableError(`${file}: "data" of the TensorsData is not an object of tensors`);
    }
    const cm = obj.calibration_method as { value?: unknown } | undefined;
    const mm = typeof cm?.value === 'string' ? /^(?:CalibrationMethod\.)?(\w+)$/.exec(cm.value) : null;
    const method = mm && (METHODS as readonly string[]).includes(mm[1]!) ? (mm[1] as OrtCalibrationMethod) : undefined;
    for (const [name, v] of Object.entries(data as Record<string, unknown>)) {
      const td = v as Record<string, unknown> | null;
      if (typeof td !== 'object' || td === null || !('lowest' in td) || !('highest' in td)) {
        throw new TableError(`${file}: tensor "${name}" has no "lowest"/"highest"; expected a TensorData with both`);
      }
      addTensor(tensors, name, { op: '', min: jsonScalar(td.lowest, `"${name}".lowest`, file), max: jsonScalar(td.highest, `"${name}".highest`, file) }, () => new TableError(`${file}: tensor "${name}" appears twice`));
    }
    return ortTable(tensors, file, method);
  }
  for (const [name, v] of Object.entries(obj)) {
    if (!Array.isArray(v) || v.length !== 2) {
      throw new TableError(`${file}: tensor "${name}" is ${JSON.stringify(v)}; expected [lowest, highest] (or a TensorsData file with "CLS": "TensorsData")`);
    }
    addTensor(tensors, name, { op: '', min: jsonScalar(v[0], `"${name}"[0]`, file), max: jsonScalar(v[1], `"${name}"[1]`, file) }, () => new TableError(`${file}: tensor "${name}" appears twice`));
  }
  return ortTable(tensors, file);
}

function amaxValue(token: string, where: () => TableError): number {
  const x = parseDecimal(token);
  if (x === undefined || x < 0) throw where();
  return x;
}

/** Reads `calibration.flatbuffers`: amax only, so every range comes back `[-amax, amax]`. */
export function readOrtFlatbuffers(buf: Uint8Array, file: string): CalibrationTable {
  const tensors: Record<string, TableEntry> = {};
  decodeTrtTable(buf, file).forEach(([key, value], i) => {
    addTensor(tensors, key, symmetric(amaxValue(value, () => new TableError(`${file}: entry ${i} ("${key}") has value ${JSON.stringify(value)}; expected a non-negative decimal amax`))), () => new TableError(`${file}: entry ${i}: tensor "${key}" appears twice`));
  });
  return ortTable(tensors, file);
}

/**
 * Reads `calibration.cache`: `name amax` lines (the name is everything before the last space),
 * amax only, so every range comes back `[-amax, amax]`.
 */
export function readOrtCache(text: string, file: string): CalibrationTable {
  const tensors: Record<string, TableEntry> = {};
  for (const line of textLines(text)) {
    if (line.text.trim() === '') continue;
    const cut = line.text.lastIndexOf(' ');
    const name = cut > 0 ? line.text.slice(0, cut) : '';
    const bad = (): TableError => lineError(file, line.no, `expected "<tensor name> <amax>" with a non-negative decimal amax, found ${JSON.stringify(line.text)}`);
    if (name === '') throw bad();
    addTensor(tensors, name, symmetric(amaxValue(line.text.slice(cut + 1).trim(), bad)), () => lineError(file, line.no, `tensor "${name}" appears twice`));
  }
  return ortTable(tensors, file);
}
