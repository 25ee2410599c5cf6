import { TableError } from '../errors';
import type { TableEntry } from '../table';

/** One line of a text table, numbered from 1, without its line terminator (`\n` or `\r\n`). */
export interface TextLine { no: number; text: string }

/** Splits a text file into numbered lines; a final terminator does not start another line. */
export function textLines(text: string): TextLine[] {
  const parts = text.split('\n');
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  return parts.map((t, i) => ({ no: i + 1, text: t.endsWith('\r') ? t.slice(0, -1) : t }));
}

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A decimal number token (Python/C float syntax, no hex, no inf/nan), or undefined. */
export function parseDecimal(token: string): number | undefined {
  return DECIMAL.test(token) ? Number(token) : undefined;
}

/** `max(|min|, |max|)`: the symmetric range a scale-only format stores. */
export function amaxOf(e: Pick<TableEntry, 'min' | 'max'>): number {
  return Math.max(Math.abs(e.min), Math.abs(e.max));
}

/** A TableError for line `no` of `file`: what was found and what was expected. */
export function lineError(file: string, no: number, message: string): TableError {
  return new TableError(`${file}:${no}: ${message}`);
}

/**
 * Rejects tensor names a line-based format cannot hold (empty, or containing a line break,
 * or a character the format uses as separator).
 */
export function checkTextName(name: string, format: string, forbidden?: RegExp, why = ''): void {
  if (name === '' || /[\r\n]/.test(name) || forbidden?.test(name)) {
    throw new TableError(`tensor name ${JSON.stringify(name)} cannot be written to a ${format} table: ${name === '' ? 'it is empty' : /[\r\n]/.test(name) ? 'it contains a line break' : why}; exclude the tensor or write another format`);
  }
}

/**
 * Adds a tensor to a table being read: an own property even for names like `__proto__`, and a
 * name given twice is an error (`duplicate()`), not a silent last-one-wins.
 */
export function addTensor(tensors: Record<string, TableEntry>, name: string, entry: TableEntry, duplicate: () => TableError): void {
  if (Object.prototype.hasOwnProperty.call(tensors, name)) throw duplicate();
  Object.defineProperty(tensors, name, { value: entry, enumerable: true, writable: true, configurable: true });
}
