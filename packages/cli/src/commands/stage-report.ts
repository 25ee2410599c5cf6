import * as path from 'node:path';
import { type Logger, type OutputSet } from '@qcal/core';
import { buildReport, REPORT_FILE } from '@qcal/report';
import { out, type CliIo } from '../io';

/**
 * Stages `report.html`, built from what the output directory will hold after the commit: this
 * run's staged files, and the files already there that this run does not replace (other
 * collectors' tables, or run.json when the tables were reused).
 */
export function stageReport(set: OutputSet, cfg: { quiet: boolean; cwd: string }, io: CliIo, logger: Logger, labels: readonly string[]): void {
  const target = set.pathFor(REPORT_FILE);
  const stage = path.dirname(target);
  const r = buildReport([stage, set.dir], (name, i) => i === 0 || !labels.some((l) => name.startsWith(`${l}.`)), set.dir);
  set.write(REPORT_FILE, r.html);
  if (!cfg.quiet) out(io, `  wrote ${path.relative(cfg.cwd, set.finalPath(REPORT_FILE)) || set.finalPath(REPORT_FILE)}: ${r.tensors} tensors, ${r.histograms} with histograms, ${(r.bytes / 1e6).toFixed(2)} MB`);
  for (const p of r.problems) logger.warn(`report: skipped ${p}`);
}

