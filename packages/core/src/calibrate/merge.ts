import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, PluginError, messageOf } from '../errors';
import type { Logger } from '../logger';
import { silentLogger } from '../logger';
import { validateOptions } from '../options-schema';
import type { CollectorRegistry } from '../plugins';
import { loadModel } from '../onnx/model';
import { indexGraph } from '../onnx/graph-index';
import { sha256 } from '../fingerprint';
import { createInstances, finishCalibration, type CalibrateResult, type PreparedCalibration } from './calibrate';
import type { PlannedCollector } from './plan';
import { gatherSnapshotFiles, type SnapshotFile } from './snapshots';
import { TableError } from '../errors';

export interface MergeOptions {
  /** Shard output directories (any order: snapshots are merged in slice order). */
  readonly dirs: readonly string[];
  /** Installed collectors (to re-create each collector from its name and options). */
  readonly registry: CollectorRegistry;
  /** The model; default the path recorded in the snapshots. Its bytes must match theirs. */
  readonly model?: string;
  readonly logger?: Logger;
}

/**
 * Merges sharded runs: for every collector, the snapshots of shards 1..n are merged into a fresh
 * instance in slice order and postCollect runs once, giving the tables a single run writes.
 */
export async function mergeShards(opts: MergeOptions): Promise<CalibrateResult> {
  if (opts.dirs.length === 0) throw new ConfigError('qcal merge: no shard directories given');
  for (const d of opts.dirs) if (!fs.existsSync(d) || !fs.statSync(d).isDirectory()) throw new ConfigError(`${d}: not a directory; expected a shard output directory`);
  const labels = fs.readdirSync(opts.dirs[0]!).filter((f) => f.endsWith('.snapshot') && !f.startsWith('.')).map((f) => f.slice(0, -'.snapshot'.length)).sort();
  if (labels.length === 0) throw new ConfigError(`${opts.dirs[0]}: no .snapshot files; expected the output of 'qcal calibrate --shard I/N'`);
  const located = labels.map((l) => gatherSnapshotFiles(opts.dirs, l));
  const groups = located.map((g) => g.map((s) => s.snap));
  const first = groups[0]![0]!;
  const modelPath = opts.model ?? first.model;
  const { model, bytes } = loadModel(modelPath);
  const modelSha256 = sha256(bytes);
  for (const g of groups) {
    if (g[0]!.modelSha256 !== modelSha256) throw new TableError(`${g[0]!.label}.snapshot: made from a different model than ${modelPath} (sha256 differs)`);
  }
  const index = indexGraph(model);
  const planned: PlannedCollector[] = groups.map((g) => plannedFromSnapshot(g[0]!, opts.registry, index));
  const logger = opts.logger ?? silentLogger;
  const prepared: Omit<PreparedCalibration, 'data'> = {
    opts: { model: modelPath, data: { data: '' }, collectors: planned.map((p) => p.resolved), logger, registry: opts.registry },
    model,
    modelSha256,
    index,
    plan: { collectors: planned, full: [], range: [], selected: [] },
    fingerprints: groups.map(() => ''),
  };
  const instances = createInstances(prepared);
  located.forEach((g, i) => {
    const inst = instances[i]!;
    if (typeof inst.merge !== 'function') throw new PluginError(g[0]!.snap.collector, `collector "${g[0]!.snap.collector}" has no merge(); its shards cannot be merged`);
    for (const { file, snap } of g) {
      try {
        inst.merge(snap.state);
      } catch (err) {
        // A state the collector refuses is bad input (a damaged or foreign snapshot), not a failed run.
        throw new TableError(`${file}: its state cannot be merged: ${messageOf(err)}`, { cause: err });
      }
    }
  });
  const samples = groups[0]!.reduce((a, s) => a + s.samples, 0);
  const batches = groups[0]!.reduce((a, s) => a + s.batches, 0);
  const result = await finishCalibration(prepared, instances, { samples, batches, inferenceMs: 0, collectMs: 0 });
  result.results.forEach((r, i) => {
    const fast = groups[i]![0]!.fastMode;
    r.table.meta = {
      ...r.table.meta, mergedFrom: opts.dirs.map((d) => path.resolve(d)), merge: mergeExactness(r.table.collector, r.table.options),
      ...(fast ? { fastMode: { ...fast, description: `fast mode: ${fast.sampledTensors} of ${r.planned.tensors.length} tensors histogrammed from about ${fast.sampleValues} values per tensor and batch (every k-th block of 16 values) plus their exact min and max` } } : {}),
    };
  });
  return result;
}

/** Built-in collectors whose merged table can differ from a single run's (histograms re-binned on merge). */
export const APPROXIMATE_MERGE: ReadonlySet<string> = new Set(['entropy', 'hfmg']);

/**
 * How a merged table relates to a single run: `exact` (minmax; ifmr's counts are exact, sums to
 * float64 rounding), `approximate` (entropy, hfmg: shard histograms of different widths are
 * re-binned, see their READMEs), or `plugin` (a third-party collector's merge, as it implements it).
 */
export function mergeExactness(collector: string, options: Readonly<Record<string, unknown>> = {}): 'exact' | 'approximate' | 'plugin' {
  if (APPROXIMATE_MERGE.has(collector)) return 'approximate';
  // autotune merges its base collector's state (entropy by default).
  if (collector === 'autotune') return mergeExactness(typeof options.base === 'string' ? options.base : 'entropy');
  return ['minmax', 'ifmr', 'autotune'].includes(collector) ? 'exact' : 'plugin';
}

function plannedFromSnapshot(snap: SnapshotFile, registry: CollectorRegistry, index: ReturnType<typeof indexGraph>): PlannedCollector {
  const reg = registry.get(snap.collector);
  if (!reg) throw new PluginError(snap.collector, `${snap.label}.snapshot: collector "${snap.collector}" is not installed here; install the plugin that provides it (and name it in the config's plugins)`);
  const { options, problems } = validateOptions(reg.definition.optionsSchema, reg.definition.defaultOptions as object, snap.options, `${snap.label}.snapshot`);
  if (problems.length) throw new TableError(problems.join('; '));
  const tensors = snap.tensors.map((name) => {
    const t = index.tensors.get(name);
    if (!t) throw new TableError(`${snap.label}.snapshot: tensor "${name}" is not in the model`);
    return t;
  });
  return {
    resolved: { name: snap.collector, definition: reg.definition, options: options as Record<string, unknown>, source: reg.source },
    label: snap.label,
    tensors,
    rangeOnly: reg.definition.needs?.activations === 'range',
  };
}
