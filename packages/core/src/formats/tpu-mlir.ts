/**
 * tpu-mlir calibration table, as `run_calibration.py` writes it (`dump_cali_table`,
 * `calibration/kld_calibrator.py`) and `ImportCalibration.cpp` / `CalibrationTable` read it:
 * `#` comment lines, then one line per tensor `name threshold min max`, each number `{:.7f}`.
 *
 * qcal writes the header deterministically (no generation time, unlike upstream):
 *
 *   # tool: qcal 0.1.0
 *   # model: model.onnx
 *   # quantization threshold calculation method: entropy
 *   # histogram number: 2048          (only when known)
 *   # sample number: 100
 *   ###
 *   # tune number: 5                  (only for a tuned table, followed by ###)
 *   ###
 *   # op_name    threshold    min    max
 *
 * `threshold = max(|min|, |max|)`, replaced by 1e-5 when at or below 1e-5 (upstream's floor);
 * `min`/`max` are the table's range.
 */
import type { CalibrationTable, TableEntry, TableMeta } from '../table';
import type { TableFormatOptions, TpuMlirHeader } from './types';
import { pythonFixed } from './py-format';
import { addTensor, amaxOf, checkTextName, lineError, parseDecimal, textLines } from './text-lines';

/** tpu-mlir's threshold floor (`threshold <= 1e-5 or nan` → 1e-5). */
export const TPU_MLIR_MIN_THRESHOLD = 1e-5;

function headerFor(table: CalibrationTable, opts: TableFormatOptions): TpuMlirHeader {
  // A table read from tpu-mlir keeps the header fields the qcal table has no place for.
  const read = (table.meta?.tpuMlir ?? {}) as TpuMlirHeader;
  const bins = read.histogramBins ?? table.options.numBins;
  const version = table.meta?.qcalVersion;
  const h: TpuMlirHeader = {
    tool: read.tool ?? (typeof version === 'string' ? `qcal ${version}` : 'qcal'),
    model: table.model,
    method: table.collector,
    sampleNumber: table.samples,
  };
  if (typeof bins === 'number') h.histogramBins = bins;
  if (read.tuneNumber !== undefined) h.tuneNumber = read.tuneNumber;
  return { ...h, ...opts.tpuMlir };
}

/** The calibration table text; tensors in table order, `\n` line ends. */
export function writeTpuMlirTable(table: CalibrationTable, opts: TableFormatOptions = {}): string {
  const h = headerFor(table, opts);
  const one = (v: unknown): string => String(v ?? '').replace(/[\r\n]+/g, ' ');
  let out = `# tool: ${one(h.tool)}\n# model: ${one(h.model)}\n# quantization threshold calculation method: ${one(h.method)}\n`;
  if (h.histogramBins !== undefined) out += `# histogram number: ${h.histogramBins}\n`;
  out += `# sample number: ${h.sampleNumber ?? 0}\n###\n`;
  if (h.tuneNumber !== undefined) out += `# tune number: ${h.tuneNumber}\n###\n`;
  out += '# op_name    threshold    min    max\n';
  for (const [name, e] of Object.entries(table.tensors)) {
    checkTextName(name, 'tpu-mlir', /\s|^#/, 'tpu-mlir splits lines on white space and skips lines starting with #');
    let th = amaxOf(e);
    if (th <= TPU_MLIR_MIN_THRESHOLD) th = TPU_MLIR_MIN_THRESHOLD;
    out += `${name} ${pythonFixed(th, 7)} ${pythonFixed(e.min, 7)} ${pythonFixed(e.max, 7)}\n`;
  }
  return out;
}

const SECTION = /^#\s*(int4_th|asym_op|weight_scale|int4_op)/;
const HEADER_FIELD = /^#\s*([A-Za-z][A-Za-z ]*?)\s*:\s*(.*?)\s*$/;

/**
 * Reads a tpu-mlir calibration table (the int8 part: reading stops at a `#int4_th`, `#asym_op`,
 * `#weight_scale` or `#int4_op` section). Each tensor's range:
 * - `[min, max]` from the columns when the threshold is `max(|min|, |max|)` (to the 7
 *   written decimals, or the 1e-5 floor): the table was written from that range (qcal, or
 *   tpu-mlir's `max` method), so it round-trips, asymmetric ranges included;
 * - otherwise the range tpu-mlir deploys for a symmetric op (`ImportCalibration.cpp`):
 *   `[min < 0 ? -threshold : 0, threshold]`, with the observed columns kept as
 *   `observedMin`/`observedMax`.
 * Header fields land in `meta.tpuMlir`; the model and sample number also in `model`/`samples`.
 */
export function readTpuMlirTable(text: string, file: string): CalibrationTable {
  const header: TpuMlirHeader = {};
  const tensors: Record<string, TableEntry> = {};
  for (const line of textLines(text)) {
    const t = line.text.trim();
    if (t === '') continue;
    if (t.startsWith('#')) {
      if (SECTION.test(t)) break;
      const f = HEADER_FIELD.exec(t);
      if (f) readHeaderField(header, f[1]!.toLowerCase(), f[2]!);
      continue;
    }
    const fields = t.split(/\s+/);
    const nums = fields.slice(1).map(parseDecimal);
    if (fields.length !== 4 || nums.some((n) => n === undefined)) {
      throw lineError(file, line.no, `expected "op_name threshold min max" (a name and three decimal numbers), found ${JSON.stringify(line.text)}`);
    }
    const [th, min, max] = nums as [number, number, number];
    const amax = Math.max(Math.abs(min), Math.abs(max));
    const fromColumns = Math.abs(th - amax) <= 1e-7 || (th <= TPU_MLIR_MIN_THRESHOLD && amax <= TPU_MLIR_MIN_THRESHOLD);
    addTensor(tensors, fields[0]!, fromColumns
      ? { op: '', min, max }
      : { op: '', min: min < 0 ? -th : 0, max: th, observedMin: min, observedMax: max }, () => lineError(file, line.no, `tensor "${fields[0]}" appears twice`));
  }
  const meta: TableMeta = { source: file, tpuMlir: header };
  return {
    collector: header.method || 'tpu-mlir',
    options: header.histogramBins !== undefined ? { numBins: header.histogramBins } : {},
    model: header.model ?? '',
    samples: header.sampleNumber ?? 0,
    tensors,
    meta,
  };
}

function readHeaderField(h: TpuMlirHeader, key: string, value: string): void {
  const int = /^\d+$/.test(value) ? Number(value) : undefined;
  switch (key) {
    case 'tool': h.tool = value; break;
    case 'mlir version': h.tool = `tpu-mlir ${value}`; break;
    case 'model': case 'mlir': h.model = value; break;
    case 'quantization threshold calculation method': h.method = value; break;
    case 'histogram number': if (int !== undefined) h.histogramBins = int; break;
    case 'sample number': if (int !== undefined) h.sampleNumber = int; break;
    case 'tune number': if (int !== undefined) h.tuneNumber = int; break;
    default: break;
  }
}
