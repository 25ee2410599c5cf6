import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CalibrationTable } from '../../src/table';

export const FIXTURES = path.join(__dirname, '..', 'fixtures', 'formats');

export function fixture(name: string): string {
  return fs.readFileSync(path.join(FIXTURES, name), 'utf8');
}

/** Bytes of an annotated hex fixture: hex digits before `#` on each line. */
export function hexFixture(name: string): Uint8Array {
  const hex = fixture(name).split('\n').map((l) => l.replace(/#.*/, '').replace(/\s+/g, '')).join('');
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

/** The small fixed table every golden file is written from. */
export function goldenTable(): CalibrationTable {
  return JSON.parse(fixture('entropy.table.json')) as CalibrationTable;
}

export function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'qcal-formats-'));
}

/** Ranges equal within `tol` relative to the amax of the range (float32 precision: 2^-23). */
export function expectRangesClose(actual: CalibrationTable, expected: Record<string, { min: number; max: number }>, tol: { rel?: number; abs?: number }): void {
  expect(Object.keys(actual.tensors).sort()).toEqual(Object.keys(expected).sort());
  for (const [name, e] of Object.entries(expected)) {
    const a = actual.tensors[name]!;
    const bound = (tol.abs ?? 0) + (tol.rel ?? 0) * Math.max(Math.abs(e.min), Math.abs(e.max));
    if (Math.abs(a.min - e.min) > bound || Math.abs(a.max - e.max) > bound) {
      throw new Error(`${name}: got [${a.min}, ${a.max}], expected [${e.min}, ${e.max}] within ${bound}`);
    }
  }
}
