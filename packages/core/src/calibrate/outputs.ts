import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CalibrationTable } from '../table';
import { openOutputSet, type OutputSet } from '../output-set';
import { formatFiles, type TableFormat, type TableFormatOptions } from '../formats';
import type { PreparedCalibration } from './calibrate';

/** A file to write: path relative to the output directory, and its bytes. */
export interface OutputFile { name: string; data: string | Uint8Array }

/** qcal's own table JSON: 2-space indented, keys in the stable order of DESIGN.md. */
export function tableJson(table: CalibrationTable): string {
  const { collector, options, model, samples, tensors, meta } = table;
  return `${JSON.stringify({ collector, options, model, samples, tensors, ...(meta ? { meta } : {}) }, null, 2)}\n`;
}

/**
 * The untuned table of a tuning collector (tpu-mlir keeps it as `<table>.1`): tensors whose entry
 * carries `baseMin`/`baseMax` get those back as their range. Undefined when nothing was tuned.
 */
export function untunedTable(table: CalibrationTable): CalibrationTable | undefined {
  const entries = Object.entries(table.tensors);
  if (!entries.some(([, e]) => typeof e.baseMin === 'number' && typeof e.baseMax === 'number')) return undefined;
  const tensors: CalibrationTable['tensors'] = {};
  for (const [name, e] of entries) {
    const { baseMin, baseMax, ...rest } = e;
    tensors[name] = typeof baseMin === 'number' && typeof baseMax === 'number' ? { ...rest, min: baseMin, max: baseMax } : { ...rest };
  }
  return { ...table, tensors, meta: { ...table.meta, untuned: true } };
}

/** Every file a collector's table produces in the asked formats (json always). */
export function tableOutputFiles(label: string, table: CalibrationTable, formats: readonly TableFormat[], opts: TableFormatOptions = {}): OutputFile[] {
  const files: OutputFile[] = [];
  const seen = new Set<string>();
  for (const f of ['json' as TableFormat, ...formats.filter((x) => x !== 'json')]) {
    for (const file of formatFiles(table, f, { ...opts, stem: label })) {
      if (!seen.has(file.name)) files.push(file);
      seen.add(file.name);
    }
  }
  const untuned = untunedTable(table);
  if (untuned) files.push({ name: `${label}.untuned.table.json`, data: tableJson(untuned) });
  return files;
}

/** Stages the tables of a run (every asked format) in an output set. Returns the final paths. */
export function addRunOutputs(set: OutputSet, results: readonly { label: string; table: CalibrationTable }[], formats: readonly TableFormat[], extra: readonly OutputFile[] = [], opts: TableFormatOptions = {}): string[] {
  const files = [...results.flatMap((r) => tableOutputFiles(r.label, r.table, formats, opts)), ...extra];
  for (const f of files) set.write(f.name, f.data);
  return files.map((f) => set.finalPath(f.name));
}

/**
 * Writes the tables of a run into `out` as one output set (see `openOutputSet`): all or nothing,
 * and files of these collectors from an earlier run that are not written again are removed.
 * Returns the paths written.
 */
export function writeRunOutputs(out: string, results: readonly { label: string; table: CalibrationTable }[], formats: readonly TableFormat[], extra: readonly OutputFile[] = [], opts: TableFormatOptions = {}): string[] {
  const set = openOutputSet(out, { command: 'write-tables', owns: results.map((r) => r.label) });
  try {
    const written = addRunOutputs(set, results, formats, extra, opts);
    set.commit();
    return written;
  } finally {
    set.abort();
  }
}

/**
 * Tables in `out` that a previous run wrote for exactly this run (same model bytes, data,
 * selection, collector and options: the `runFingerprint` in their metadata), in plan order; or
 * undefined when any collector has none — then the run must be computed.
 */
export function findReusableTables(prepared: PreparedCalibration, out: string): CalibrationTable[] | undefined {
  const tables: CalibrationTable[] = [];
  for (let i = 0; i < prepared.plan.collectors.length; i++) {
    const file = path.join(out, `${prepared.plan.collectors[i]!.label}.table.json`);
    let t: CalibrationTable;
    try {
      t = JSON.parse(fs.readFileSync(file, 'utf8')) as CalibrationTable;
    } catch {
      return undefined;
    }
    if (t?.meta?.runFingerprint !== prepared.fingerprints[i]) return undefined;
    tables.push(t);
  }
  return tables;
}
