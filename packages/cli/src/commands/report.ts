import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '@qcal/core';
import { writeReport } from '@qcal/report';
import { parseFlags } from '../args';
import { out, type CliIo } from '../io';

const HELP = `Usage: qcal report DIR [--out FILE]

Builds the calibration report, one self-contained HTML page (no network access; opens from disk),
from an output directory of qcal calibrate: run.json (the run and a histogram per tensor),
<collector>.table.json, <collector>.evaluation.json, <collector>.fallback.json and
<collector>.sensitivity.json (qcal sensitivity --json). Writes DIR/report.html unless --out says
otherwise. qcal calibrate writes the same page itself (unless --no-report).
`;

/** `qcal report DIR`: rebuilds report.html from the files of an output directory. */
export async function reportCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values: v, positionals } = parseFlags('report', argv, {
    out: { type: 'string' },
    quiet: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  }, true);
  if (v.help) {
    out(io, HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`qcal report: expected one output directory, got ${positionals.length ? positionals.join(' ') : 'none'}; see qcal report --help`);
  const dir = path.resolve(io.cwd, positionals[0]!);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UsageError(`qcal report: ${dir}: no such directory; expected the --out directory of qcal calibrate`);
  const r = writeReport(dir, v.out ? path.resolve(io.cwd, v.out) : undefined);
  for (const p of r.problems) io.stderr.write(`warning: skipped ${p}\n`);
  if (!v.quiet) out(io, `wrote ${path.relative(io.cwd, r.path) || r.path}: ${r.tensors} tensors, ${r.histograms} with histograms, ${(r.bytes / 1e6).toFixed(2)} MB`);
  return 0;
}
