import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, TableError, validateTable, RUN_RECORD_FILE, type CalibrationTable, type RunRecord, type EvaluationReport, type SensitivityReport, type FallbackResult } from '@qcal/core';

/** The fallback report as `<label>.fallback.json` holds it (the result without its table). */
export type FallbackFile = Omit<FallbackResult, 'table'>;

/** Everything in an output directory the report is built from. */
export interface ReportInputs {
  readonly dir: string;
  /** `run.json`, when the run wrote one. */
  readonly run?: RunRecord;
  /** `<label>.table.json` (not the `.untuned` ones), by label, in file-name order. */
  readonly tables: ReadonlyMap<string, CalibrationTable>;
  readonly evaluations: ReadonlyMap<string, EvaluationReport>;
  readonly fallbacks: ReadonlyMap<string, FallbackFile>;
  /** `<label>.sensitivity.json` (written by `qcal sensitivity --json`). */
  readonly sensitivities: ReadonlyMap<string, SensitivityReport>;
  /** Shard snapshots (`<label>.snapshot`) when there are no tables: what a shard directory holds. */
  readonly snapshots: ReadonlyMap<string, { collector: string; samples: number; tensors: number; shard: { index: number; count: number } }>;
  /** Files that were there but could not be read, with why (shown on the page, not fatal). */
  readonly problems: readonly string[];
}

/** Non-finite numbers come back from the JSON writers as "inf", "-inf", "NaN". */
function reviveNumbers(_k: string, v: unknown): unknown {
  if (v === 'inf') return Infinity;
  if (v === '-inf') return -Infinity;
  if (v === 'NaN') return NaN;
  return v;
}

function readJson(file: string): unknown {
  return JSON.parse(fs.readFileSync(file, 'utf8'), reviveNumbers);
}

/**
 * Reads a calibration output directory (`qcal calibrate --out DIR`): run.json, tables, evaluation,
 * fallback and sensitivity reports, shard snapshots. A directory with none of them is an error that
 * says what was expected; a single unreadable file is recorded in `problems` and skipped.
 *
 * Several directories (a run's staging area, then the output directory it will be committed to)
 * are read as one: a file name found in an earlier one wins, and `accept(name, i)` may leave out
 * files of directory i (those the commit will replace).
 */
export function readOutputDir(dirs: string | readonly string[], accept: (name: string, dirIndex: number) => boolean = () => true): ReportInputs {
  const list = typeof dirs === 'string' ? [dirs] : dirs;
  const dir = list[list.length - 1]!;
  const where = new Map<string, string>();
  list.forEach((d, i) => {
    let entries: string[];
    try {
      entries = fs.readdirSync(d);
    } catch (err) {
      if (i > 0 && (err as NodeJS.ErrnoException).code === 'ENOENT') return; // a first run: no output directory yet
      throw new ConfigError(`${d}: cannot read the directory (${(err as Error).message}); expected an output directory of qcal calibrate (--out)`);
    }
    for (const name of entries) if (!where.has(name) && accept(name, i)) where.set(name, d);
  });
  const names = [...where.keys()].sort();
  const problems: string[] = [];
  const tables = new Map<string, CalibrationTable>();
  const evaluations = new Map<string, EvaluationReport>();
  const fallbacks = new Map<string, FallbackFile>();
  const sensitivities = new Map<string, SensitivityReport>();
  const snapshots = new Map<string, { collector: string; samples: number; tensors: number; shard: { index: number; count: number } }>();
  let run: RunRecord | undefined;
  const attempt = (name: string, read: (file: string) => void): void => {
    try {
      read(path.join(where.get(name)!, name));
    } catch (err) {
      problems.push(`${name}: ${(err as Error).message}`);
    }
  };
  for (const name of names) {
    let m: RegExpExecArray | null;
    if (name === RUN_RECORD_FILE) {
      attempt(name, (f) => {
        const v = readJson(f) as RunRecord;
        if (v?.format !== 'qcal-run') throw new TableError('not a qcal run record (no "format": "qcal-run")');
        run = v;
      });
    } else if ((m = /^(.+)\.table\.json$/.exec(name)) && !name.endsWith('.untuned.table.json')) {
      const label = m[1]!;
      attempt(name, (f) => { tables.set(label, validateTable(readJson(f), f)); });
    } else if ((m = /^(.+)\.evaluation\.json$/.exec(name))) {
      const label = m[1]!;
      attempt(name, (f) => {
        const v = readJson(f) as EvaluationReport;
        if (!Array.isArray(v?.outputs)) throw new TableError('not an evaluation report (no "outputs" array)');
        evaluations.set(label, v);
      });
    } else if ((m = /^(.+)\.fallback\.json$/.exec(name))) {
      const label = m[1]!;
      attempt(name, (f) => {
        const v = readJson(f) as FallbackFile;
        if (!Array.isArray(v?.exclude) || !Array.isArray(v?.ranking)) throw new TableError('not a fallback report (no "exclude" and "ranking")');
        fallbacks.set(label, v);
      });
    } else if ((m = /^(.+)\.sensitivity\.json$/.exec(name))) {
      const label = m[1]!;
      attempt(name, (f) => {
        const v = readJson(f) as SensitivityReport;
        if (!Array.isArray(v?.layers)) throw new TableError('not a sensitivity report (no "layers" array)');
        sensitivities.set(label, v);
      });
    } else if ((m = /^(.+)\.snapshot$/.exec(name))) {
      const label = m[1]!;
      attempt(name, (f) => {
        const v = JSON.parse(fs.readFileSync(f, 'utf8')) as { format?: string; collector: string; samples: number; tensors: string[]; shard: { index: number; count: number } };
        if (v?.format !== 'qcal-snapshot') throw new TableError('not a qcal snapshot');
        snapshots.set(label, { collector: v.collector, samples: v.samples, tensors: v.tensors.length, shard: v.shard });
      });
    }
  }
  if (!run && tables.size === 0 && snapshots.size === 0) {
    const why = problems.length ? `; unreadable: ${problems.join('; ')}` : '';
    throw new ConfigError(`${dir}: no calibration output here (no run.json, <collector>.table.json or <collector>.snapshot)${why}; expected the --out directory of qcal calibrate`);
  }
  return { dir, ...(run ? { run } : {}), tables, evaluations, fallbacks, sensitivities, snapshots, problems };
}
