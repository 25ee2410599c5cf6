import { TableError } from './errors';

/** One tensor of a calibration table: the producing op, the chosen range and collector extras. */
export interface TableEntry {
  op: string;
  min: number;
  max: number;
  [extra: string]: unknown;
}

/** Provenance recorded with a table (used for reuse and for merge/convert checks). */
export interface TableMeta {
  qcalVersion?: string;
  createdAt?: string;
  /** sha256 of the model file bytes. */
  modelSha256?: string;
  /** sha256 over the sample list (paths, sizes, mtimes) and data options. */
  dataFingerprint?: string;
  /** sha256 over collector name, options and the selected tensor names. */
  runFingerprint?: string;
  /** Where the table came from when it was converted from another format. */
  source?: string;
  [key: string]: unknown;
}

/** `<out>/<collector>.table.json`, the stable format of DESIGN.md. */
export interface CalibrationTable {
  collector: string;
  options: Record<string, unknown>;
  model: string;
  samples: number;
  tensors: Record<string, TableEntry>;
  meta?: TableMeta;
}

function show(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  try { return JSON.stringify(v) ?? String(v); } catch { return Object.prototype.toString.call(v); }
}

/** Checks a parsed JSON value is a well-formed table; `where` names the file in errors. */
export function validateTable(value: unknown, where: string): CalibrationTable {
  const problems: string[] = [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TableError(`${where}: expected a qcal calibration table (a JSON object with "tensors"), got ${Array.isArray(value) ? 'an array' : typeof value}`);
  }
  const t = value as Record<string, unknown>;
  if (typeof t.tensors !== 'object' || t.tensors === null || Array.isArray(t.tensors)) {
    throw new TableError(`${where}: missing "tensors" object; expected { "collector", "options", "model", "samples", "tensors": { name: { "op", "min", "max" } } }`);
  }
  for (const [name, e] of Object.entries(t.tensors as Record<string, unknown>)) {
    if (typeof e !== 'object' || e === null) { problems.push(`tensor "${name}": expected an object with min and max`); continue; }
    const { min, max } = e as Record<string, unknown>;
    // float32-finite: every table format and the QDQ model store ranges as float32.
    if (typeof min !== 'number' || !Number.isFinite(Math.fround(min)) || typeof max !== 'number' || !Number.isFinite(Math.fround(max))) {
      problems.push(`tensor "${name}": min and max must be float32-finite numbers (|x| <= 3.4028234663852886e38), got min=${show(min)} max=${show(max)}`);
    } else if (min > max) {
      problems.push(`tensor "${name}": min ${min} > max ${max}`);
    }
  }
  if (problems.length) {
    throw new TableError(`${where}: ${problems.length} invalid tensor range(s):\n  ${problems.slice(0, 20).join('\n  ')}${problems.length > 20 ? `\n  ... and ${problems.length - 20} more` : ''}`);
  }
  return {
    collector: typeof t.collector === 'string' ? t.collector : 'unknown',
    options: (typeof t.options === 'object' && t.options !== null ? t.options : {}) as Record<string, unknown>,
    model: typeof t.model === 'string' ? t.model : '',
    samples: typeof t.samples === 'number' ? t.samples : 0,
    tensors: t.tensors as Record<string, TableEntry>,
    ...(typeof t.meta === 'object' && t.meta !== null ? { meta: t.meta as TableMeta } : {}),
  };
}
