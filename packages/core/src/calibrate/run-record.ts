import type { RangeChoiceMeta } from '../sensitivity/choose-ranges';
import type { ActivationHistograms } from '../runner/activation-recorder';
import type { PreparedCalibration, PassCounts } from './calibrate';
import { QCAL_VERSION } from './calibrate';
import type { OutputFile } from './outputs';

/**
 * `<out>/run.json`: what a calibration run was (model, data, collectors and options, selection,
 * timings, qcal version) and what it saw (a histogram per fetched tensor). The report
 * (`report.html`, `qcal report DIR`) is built from it and the tables beside it.
 */
export interface RunRecord {
  format: 'qcal-run';
  version: 1;
  qcalVersion: string;
  createdAt: string;
  /** The command line, when the CLI ran it. */
  command?: string[];
  model: string;
  modelSha256: string;
  data: { source: string; describe: string; fingerprint: string; samples: number; batches: number };
  collectors: { label: string; name: string; options: Record<string, unknown>; tensors: number }[];
  selection: { calibratable: number; selected: number; full: number; range: number; include?: string[]; exclude?: string[] };
  /** ms */
  timings: { inferenceMs: number; collectMs: number; postCollectMs?: number; totalMs?: number };
  shard?: { index: number; count: number };
  histograms?: ActivationHistograms;
  /**
   * Per collector label, what the mixed-precision search (--target-cos / --target) kept out of INT8
   * and the fidelity it reached (details in `<label>.fallback.json`).
   */
  /**
   * With the `auto` collector: the per-tensor choice among the candidates' ranges (what won where,
   * scores on the calibration samples, cost; each tensor's winner is in `auto.table.json`).
   */
  rangeChoice?: RangeChoiceMeta;
  fallback?: Record<string, { metric: string; target: number; met: boolean; quantizable: number; float: string[]; int16: string[]; reached: { search: number; heldOut?: number }; allQuantized: { search: number; heldOut?: number }; searchMs: number; builds: number }>;
}

export const RUN_RECORD_FILE = 'run.json';

/** The run record of a finished (or shard) collect pass. */
export function makeRunRecord(
  prepared: PreparedCalibration,
  counts: PassCounts,
  extra: { histograms?: ActivationHistograms; postCollectMs?: number; totalMs?: number; command?: readonly string[]; shard?: { index: number; count: number } } = {},
): RunRecord {
  const { opts, plan, data, index } = prepared;
  return {
    format: 'qcal-run',
    version: 1,
    qcalVersion: QCAL_VERSION,
    createdAt: new Date().toISOString(),
    ...(extra.command ? { command: [...extra.command] } : {}),
    model: opts.model,
    modelSha256: prepared.modelSha256,
    data: { source: typeof opts.data.data === 'string' ? opts.data.data : 'data source', describe: data.describe, fingerprint: data.fingerprint, samples: counts.samples, batches: counts.batches },
    collectors: plan.collectors.map((p) => ({ label: p.label, name: p.resolved.name, options: { ...p.resolved.options }, tensors: p.tensors.length })),
    selection: {
      calibratable: index.calibratable.length,
      selected: plan.selected.length,
      full: plan.full.length,
      range: plan.range.length,
      ...(opts.include?.length ? { include: [...opts.include] } : {}),
      ...(opts.exclude?.length ? { exclude: [...opts.exclude] } : {}),
    },
    timings: {
      inferenceMs: counts.inferenceMs,
      collectMs: counts.collectMs,
      ...(extra.postCollectMs !== undefined ? { postCollectMs: extra.postCollectMs } : {}),
      ...(extra.totalMs !== undefined ? { totalMs: extra.totalMs } : {}),
    },
    ...(extra.shard ? { shard: extra.shard } : {}),
    ...(extra.histograms ? { histograms: extra.histograms } : {}),
  };
}

/** run.json as an output file (compact: histograms make it long). */
export function runRecordFile(record: RunRecord): OutputFile {
  return { name: RUN_RECORD_FILE, data: `${JSON.stringify(record)}\n` };
}
