import type { CalibrationTable } from '../table';
import { validateTable } from '../table';
import { parseJsonFile } from './ort';

/**
 * `<collector>.table.json`: the table as 2-space JSON with its keys in the order collector,
 * options, model, samples, tensors, meta (meta only when present), and a final newline.
 */
export function writeQcalJson(table: CalibrationTable): string {
  const ordered: Record<string, unknown> = {
    collector: table.collector,
    options: table.options,
    model: table.model,
    samples: table.samples,
    tensors: table.tensors,
  };
  if (table.meta !== undefined) ordered.meta = table.meta;
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

/** Reads and validates a qcal table JSON file. */
export function readQcalJson(text: string, file: string): CalibrationTable {
  return validateTable(parseJsonFile(text, file), file);
}
