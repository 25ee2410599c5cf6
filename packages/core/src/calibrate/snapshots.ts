import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CalibrationCollector } from '../collector';
import { TableError, PluginError, ConfigError } from '../errors';
import { stableStringify } from '../fingerprint';
import type { PreparedCalibration, PassCounts } from './calibrate';
import type { OutputFile } from './outputs';

/** The versioned file a shard writes per collector: `<out>/<label>.snapshot`. */
export interface SnapshotFile {
  format: 'qcal-snapshot';
  version: 1;
  collector: string;
  label: string;
  options: Record<string, unknown>;
  model: string;
  modelSha256: string;
  /** The calibrated tensor names, in order. */
  tensors: string[];
  shard: { index: number; count: number };
  samples: number;
  batches: number;
  dataFingerprint: string;
  state: unknown;
}

export const SNAPSHOT_VERSION = 1;

/** Fails before any inference when a collector of a sharded run cannot snapshot and merge. */
export function checkShardable(prepared: PreparedCalibration, instances: readonly CalibrationCollector[]): void {
  instances.forEach((c, i) => {
    const name = prepared.plan.collectors[i]!.resolved.name;
    if (typeof c.snapshot !== 'function' || typeof c.merge !== 'function') {
      throw new PluginError(name, `collector "${name}" cannot run sharded: it has no snapshot()/merge(); run it without --shard`);
    }
  });
}

/** The snapshot files of a shard run. */
export function snapshotFiles(prepared: PreparedCalibration, instances: readonly CalibrationCollector[], counts: PassCounts, shard: { index: number; count: number }): OutputFile[] {
  return instances.map((c, i) => {
    const p = prepared.plan.collectors[i]!;
    const file: SnapshotFile = {
      format: 'qcal-snapshot',
      version: SNAPSHOT_VERSION,
      collector: p.resolved.name,
      label: p.label,
      options: { ...p.resolved.options },
      model: prepared.opts.model,
      modelSha256: prepared.modelSha256,
      tensors: p.tensors.map((t) => t.name),
      shard,
      samples: counts.samples,
      batches: counts.batches,
      dataFingerprint: prepared.data.fingerprint,
      state: c.snapshot!(),
    };
    return { name: `${p.label}.snapshot`, data: `${JSON.stringify(file)}\n` };
  });
}

/** Reads and checks one snapshot file. */
export function readSnapshot(file: string): SnapshotFile {
  let v: SnapshotFile;
  try {
    v = JSON.parse(fs.readFileSync(file, 'utf8')) as SnapshotFile;
  } catch (err) {
    throw new TableError(`${file}: cannot read the snapshot (${(err as Error).message}); expected a .snapshot file written by 'qcal calibrate --shard'`);
  }
  if (v?.format !== 'qcal-snapshot') throw new TableError(`${file}: not a qcal snapshot (no "format": "qcal-snapshot")`);
  if (v.version !== SNAPSHOT_VERSION) throw new TableError(`${file}: snapshot version ${v.version}, this qcal reads version ${SNAPSHOT_VERSION}; re-run the shard with this qcal`);
  return v;
}

/**
 * The snapshots of `label` in the shard directories, in slice order, checked to belong together:
 * same model bytes, collector, options and tensors, shards 1..n of the same n, each once.
 */
export function gatherSnapshots(dirs: readonly string[], label: string): SnapshotFile[] {
  const snaps = dirs.map((d) => {
    const file = path.join(d, `${label}.snapshot`);
    if (!fs.existsSync(file)) throw new ConfigError(`${d}: no ${label}.snapshot; expected a directory written by 'qcal calibrate --shard I/N --out ${d}' with the same collectors`);
    return { file, snap: readSnapshot(file) };
  });
  snaps.sort((a, b) => a.snap.shard.index - b.snap.shard.index);
  const first = snaps[0]!;
  const n = first.snap.shard.count;
  for (const { file, snap } of snaps) {
    const differs = (what: string, a: unknown, b: unknown): never => {
      throw new TableError(`${file}: cannot merge with ${first.file}: different ${what} (${JSON.stringify(a)} vs ${JSON.stringify(b)})`);
    };
    if (snap.modelSha256 !== first.snap.modelSha256) differs('model (sha256 of the model file)', snap.model, first.snap.model);
    if (snap.collector !== first.snap.collector) differs('collector', snap.collector, first.snap.collector);
    if (stableStringify(snap.options) !== stableStringify(first.snap.options)) differs('collector options', snap.options, first.snap.options);
    if (stableStringify(snap.tensors) !== stableStringify(first.snap.tensors)) differs('tensor selection', `${snap.tensors.length} tensors`, `${first.snap.tensors.length} tensors`);
    if (snap.shard.count !== n) differs('shard count', snap.shard.count, n);
  }
  const indices = snaps.map((s) => s.snap.shard.index);
  const expected = Array.from({ length: n }, (_, i) => i + 1);
  if (stableStringify(indices) !== stableStringify(expected)) {
    throw new TableError(`cannot merge ${label}: got shards ${indices.join(', ')} of ${n}; expected each of ${expected.join(', ')} exactly once`);
  }
  return snaps.map((s) => s.snap);
}
