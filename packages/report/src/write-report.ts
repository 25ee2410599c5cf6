import * as path from 'node:path';
import { writeFileAtomic } from '@qcal/core';
import { readOutputDir } from './read-output-dir';
import { buildReportModel } from './report-model';
import { renderReportHtml } from './render-html';

/** The report's file name in an output directory. */
export const REPORT_FILE = 'report.html';

export interface WriteReportResult {
  /** Where the page was written. */
  path: string;
  bytes: number;
  tensors: number;
  /** Tensors with a histogram. */
  histograms: number;
  /** Files in the directory that could not be read (listed on the page too). */
  problems: readonly string[];
}

/** The page built from output directories (see readOutputDir), with what it holds. */
export function buildReport(dirs: string | readonly string[], accept?: (name: string, dirIndex: number) => boolean, shownDir?: string): Omit<WriteReportResult, 'path'> & { html: string } {
  const inputs = readOutputDir(dirs, accept);
  const model = buildReportModel(shownDir ? { ...inputs, dir: shownDir } : inputs);
  const html = renderReportHtml(model);
  return {
    html,
    bytes: Buffer.byteLength(html),
    tensors: model.tensors.length,
    histograms: model.tensors.filter((t) => t.hist?.counts.length).length,
    problems: model.problems,
  };
}

/**
 * Builds `report.html` from an output directory (tables, run.json with histograms, evaluation,
 * fallback and sensitivity reports) and writes it atomically to `out` (default `<dir>/report.html`).
 */
export function writeReport(dir: string, out = path.join(dir, REPORT_FILE)): WriteReportResult {
  const { html, ...rest } = buildReport(dir);
  writeFileAtomic(out, html);
  return { path: out, ...rest };
}
