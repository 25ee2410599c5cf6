import type { CalibrationTable, TableEntry } from '../table';

/** What `meta.floatFallback` of a table holds after {@link applyFallback}. */
export interface FloatFallbackMeta {
  /** Tensors kept in FP32, most harmful first, with the ranges the collector had chosen. */
  tensors: Record<string, TableEntry>;
  metric?: string;
  target?: number;
  /** Metric reached (held-out samples where there were any). */
  reached?: number;
}

/**
 * The table with `exclude` kept float: those tensors leave `tensors` (so the QDQ writer, `qcal
 * quantize` and every table format leave them unquantized with no extra flag) and move, ranges
 * intact, to `meta.floatFallback`, from where {@link fallbackExclusions} reads them back.
 * The input table is not modified.
 */
export function applyFallback(table: CalibrationTable, exclude: readonly string[], info: Omit<FloatFallbackMeta, 'tensors'> = {}): CalibrationTable {
  const drop = new Set(exclude);
  const prev = (table.meta?.floatFallback as FloatFallbackMeta | undefined)?.tensors ?? {};
  const tensors: Record<string, TableEntry> = {};
  const moved: Record<string, TableEntry> = { ...prev };
  for (const name of exclude) if (table.tensors[name]) moved[name] = table.tensors[name];
  for (const [name, e] of Object.entries(table.tensors)) if (!drop.has(name)) tensors[name] = e;
  return { ...table, tensors, meta: { ...table.meta, floatFallback: { ...info, tensors: moved } } };
}

/** Tensors a table keeps float by {@link applyFallback} (empty when none). */
export function fallbackExclusions(table: CalibrationTable): string[] {
  return Object.keys((table.meta?.floatFallback as FloatFallbackMeta | undefined)?.tensors ?? {});
}

/** The table as it was before {@link applyFallback}: every range back in `tensors`. */
export function withoutFallback(table: CalibrationTable): CalibrationTable {
  const fb = table.meta?.floatFallback as FloatFallbackMeta | undefined;
  if (!fb) return table;
  const { floatFallback: _drop, ...meta } = table.meta!;
  return { ...table, tensors: { ...table.tensors, ...fb.tensors }, meta };
}

/** A copy of the table without `exclude` (what the fallback search builds and measures). */
export function tableWithout(table: CalibrationTable, exclude: Iterable<string>): CalibrationTable {
  const drop = new Set(exclude);
  return { ...table, tensors: Object.fromEntries(Object.entries(table.tensors).filter(([n]) => !drop.has(n))) };
}
