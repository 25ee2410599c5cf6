import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig, loadInstalledCollectors, mergeShards, addRunOutputs, openOutputSet, streamLogger, UsageError, isTableFormat, mergeHistogramSets, runRecordFile, RUN_RECORD_FILE, type TableFormat, type RunRecord } from '@qcal/core';
import { stageReport } from './stage-report';
import { parseFlags } from '../args';
import { out, type CliIo } from '../io';

const HELP = `Usage: qcal merge DIR_1 ... DIR_n --out DIR [--model M.onnx] [--format F]... [--config FILE]

Merges the snapshots written by 'qcal calibrate --shard I/N --out DIR_I' (in slice order) and runs
each collector's postCollect once: DIR gets the tables a single run over all samples writes —
exactly for minmax and ifmr; approximately for entropy and hfmg, whose shard histograms of
different widths are re-binned (the table's meta.merge says "exact" or "approximate").
Snapshots of different models, collectors, options or tensor selections are refused.

Example (a job array of 3):
  qcal calibrate --config qcal.config.json --shard 1/3 --out shards/1   # on machine 1
  qcal calibrate --config qcal.config.json --shard 2/3 --out shards/2   # on machine 2
  qcal calibrate --config qcal.config.json --shard 3/3 --out shards/3   # on machine 3
  qcal merge shards/1 shards/2 shards/3 --out calib-out
`;

const FLAGS = {
  out: { type: 'string' },
  model: { type: 'string' },
  format: { type: 'string', multiple: true },
  config: { type: 'string' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `qcal merge`: shards → the tables of a single run. */
export async function mergeCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values: v, positionals } = parseFlags('merge', argv, FLAGS, true);
  if (v.help) {
    out(io, HELP);
    return 0;
  }
  if (!v.out) throw new UsageError('qcal merge: --out DIR is required');
  if (positionals.length === 0) throw new UsageError('qcal merge: give the shard directories: qcal merge DIR_1 ... DIR_n --out DIR');
  const formats = (v.format ?? []).map((f) => {
    if (!isTableFormat(f)) throw new UsageError(`--format expects json, tensorrt, tpu-mlir or ort, got "${f}"`);
    return f as TableFormat;
  });
  const cfg = await loadConfig({ configFile: v.config, cwd: io.cwd });
  const { registry } = loadInstalledCollectors({ configDir: cfg.configDir, cwd: cfg.cwd, plugins: cfg.plugins });
  const logger = streamLogger(io.stderr, { quiet: v.quiet ?? false });
  const dirs = positionals.map((d) => path.resolve(io.cwd, d));
  // --out is checked before any shard is read; the labels it owns are those of the snapshots.
  const set = openOutputSet(path.resolve(io.cwd, v.out), { command: 'merge', owns: snapshotLabels(dirs[0]!), keep: ['.snapshot'], info: { shards: positionals.length }, logger, cwd: io.cwd });
  let written: string[];
  let result: Awaited<ReturnType<typeof mergeShards>>;
  try {
    result = await mergeShards({ dirs, registry, ...(v.model ? { model: path.resolve(io.cwd, v.model) } : {}), logger });
    written = addRunOutputs(set, result.results, formats.filter((f) => f !== 'json'));
    const record = mergedRunRecord(dirs, result.samples);
    if (record) {
      const f = runRecordFile(record);
      set.write(f.name, f.data);
      written.push(set.finalPath(f.name));
    }
    stageReport(set, { quiet: v.quiet ?? false, cwd: io.cwd }, io, logger, result.results.map((r) => r.label));
    set.commit();
  } finally {
    set.abort();
  }
  if (!v.quiet) {
    out(io, `merged ${positionals.length} shards (${result.samples} samples)`);
    for (const f of written) out(io, `  wrote ${path.relative(io.cwd, f) || f}`);
    for (const r of result.results) {
      if (r.table.meta?.merge === 'approximate') {
        out(io, `  note: ${r.label}: a merged ${r.table.collector} table approximates a single run over all samples (shard histograms of different widths are re-binned; table meta.merge = "approximate"; see the collector's README)`);
      }
    }
  }
  return 0;
}

function snapshotLabels(dir: string): string[] {
  try {
    return fs.readdirSync(dir).filter((f) => f.endsWith('.snapshot')).map((f) => f.slice(0, -'.snapshot'.length));
  } catch {
    return [];
  }
}

/**
 * The shards' run records as one (samples and times added, histograms merged exactly), or
 * undefined when a shard has none (written with --no-report, or by an older qcal).
 */
function mergedRunRecord(dirs: readonly string[], samples: number): RunRecord | undefined {
  const records: RunRecord[] = [];
  for (const d of dirs) {
    try {
      const r = JSON.parse(fs.readFileSync(path.join(d, RUN_RECORD_FILE), 'utf8')) as RunRecord;
      // Only shard records: a directory merged into before holds the merged record (counted once already).
      if (r?.format !== 'qcal-run' || !r.shard) return undefined;
      records.push(r);
    } catch {
      return undefined;
    }
  }
  const first = records[0]!;
  const sum = (f: (r: RunRecord) => number | undefined): number => records.reduce((a, r) => a + (f(r) ?? 0), 0);
  const hists = records.map((r) => r.histograms);
  const { shard: _shard, ...rest } = first;
  return {
    ...rest,
    createdAt: new Date().toISOString(),
    data: { ...first.data, describe: `${records.length} shards: ${first.data.describe.replace(/ \(shard \d+\/\d+\)/, '')}`, samples, batches: sum((r) => r.data.batches) },
    timings: { inferenceMs: sum((r) => r.timings.inferenceMs), collectMs: sum((r) => r.timings.collectMs) },
    ...(hists.every((h) => h) ? { histograms: mergeHistogramSets(hists as NonNullable<RunRecord['histograms']>[]) } : {}),
  };
}
