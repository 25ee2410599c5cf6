import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CalibrationCollector } from '../collector';
import { TableError, PluginError, ConfigError } from '../errors';
import { sha256, stableStringify } from '../fingerprint';
import { nestingDepth, MAX_NESTING } from '../config/config-size';
import type { PreparedCalibration, PassCounts } from './calibrate';
import type { OutputFile } from './outputs';
import { sampledTensors } from './sampling';

/** The versioned file a shard writes per collector: `<out>/<label>.snapshot`. */
export interface SnapshotFile {
  format: 'qcal-snapshot';
  version: 2;
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
  /** Identity of the whole data set the shards were cut from (sample names, count, selection): shards of other data are refused. */
  dataset: string;
  state: unknown;
  /** Fast mode (`--fast`): the shard's collector saw samples of this many of its tensors; absent when it saw every value. */
  fastMode?: { sampleValues: number; sampledTensors: number };
  /** sha256 of every other field (stableStringify): a tampered or torn snapshot is refused. */
  checksum: string;
}

export const SNAPSHOT_VERSION = 2;

/** Most shards a run may be cut into, and the largest snapshot file read. */
export const SNAPSHOT_LIMITS = Object.freeze({ maxShards: 100_000, maxBytes: 2 * 1024 ** 3, maxTensors: 1_000_000 });

/** The checksum of a snapshot: sha256 over the stable JSON of every field but `checksum`. */
export function snapshotChecksum(v: Omit<SnapshotFile, 'checksum'> & { checksum?: unknown }): string {
  const { checksum: _omit, ...rest } = v;
  return sha256(stableStringify(rest));
}

/** Fails before any inference when a collector of a sharded run cannot snapshot and merge. */
export function checkShardable(prepared: PreparedCalibration, instances: readonly CalibrationCollector[]): void {
  instances.forEach((c, i) => {
    const name = prepared.plan.collectors[i]!.resolved.name;
    if (typeof c.snapshot !== 'function' || typeof c.merge !== 'function') {
      throw new PluginError(name, `collector "${name}" cannot run sharded: it has no snapshot()/merge(); run it without --shard`);
    }
  });
}

/** A collector's snapshot state as the JSON a reader will parse; a cycle or BigInt names the plugin. */
function jsonState(name: string, state: unknown): unknown {
  let text: string | undefined;
  try {
    text = JSON.stringify(state);
  } catch (e) {
    throw new PluginError(name, `collector "${name}" failed in snapshot: its state is not JSON data (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`, { duringRun: true });
  }
  if (text === undefined) throw new PluginError(name, `collector "${name}" failed in snapshot: it returned ${String(state)}, expected JSON data`, { duringRun: true });
  return JSON.parse(text) as unknown;
}

/** The snapshot files of a shard run. */
export function snapshotFiles(prepared: PreparedCalibration, instances: readonly CalibrationCollector[], counts: PassCounts, shard: { index: number; count: number }): OutputFile[] {
  const sampled = new Set(prepared.opts.sampleValues ? sampledTensors(prepared.plan, prepared.index) : []);
  return instances.map((c, i) => {
    const p = prepared.plan.collectors[i]!;
    const fast = p.tensors.filter((t) => sampled.has(t.name)).length;
    const file: Omit<SnapshotFile, 'checksum'> = {
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
      dataset: prepared.data.dataset ?? prepared.data.fingerprint,
      // Through JSON first: the checksum is over exactly what a reader will parse.
      state: jsonState(p.resolved.name, c.snapshot!()),
      ...(fast ? { fastMode: { sampleValues: prepared.opts.sampleValues!, sampledTensors: fast } } : {}),
    };
    return { name: `${p.label}.snapshot`, data: `${JSON.stringify({ ...file, checksum: snapshotChecksum(file) })}\n` };
  });
}

/** A file-safe collector label (what `planCollectors` makes): never a path. */
export function isSafeLabel(label: unknown): label is string {
  return typeof label === 'string' && /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/.test(label);
}

/** Reads and checks one snapshot file: its shape, field by field, and its checksum. */
export function readSnapshot(file: string): SnapshotFile {
  const redo = "re-run that shard with 'qcal calibrate --shard I/N'";
  let v: SnapshotFile;
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) throw new Error('not a regular file');
    if (st.size > SNAPSHOT_LIMITS.maxBytes) throw new Error(`${st.size} bytes, more than the ${SNAPSHOT_LIMITS.maxBytes} a snapshot may have`);
    v = JSON.parse(fs.readFileSync(file, 'utf8')) as SnapshotFile;
  } catch (err) {
    throw new TableError(`${file}: cannot read the snapshot (${(err as Error).message}); expected a .snapshot file written by 'qcal calibrate --shard'`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v.format !== 'qcal-snapshot') throw new TableError(`${file}: not a qcal snapshot (no "format": "qcal-snapshot")`);
  if (v.version !== SNAPSHOT_VERSION) throw new TableError(`${file}: snapshot version ${JSON.stringify(v.version)}, this qcal reads version ${SNAPSHOT_VERSION}; ${redo} with this qcal`);
  const problems: string[] = [];
  const need = (ok: boolean, key: string, expected: string): void => {
    if (!ok) problems.push(`"${key}" is ${show((v as unknown as Record<string, unknown>)[key])}, expected ${expected}`);
  };
  const isCount = (x: unknown, min: number, max = Number.MAX_SAFE_INTEGER): boolean => Number.isSafeInteger(x) && (x as number) >= min && (x as number) <= max;
  const isObj = (x: unknown): boolean => typeof x === 'object' && x !== null && !Array.isArray(x);
  need(typeof v.collector === 'string' && v.collector.length > 0 && v.collector.length <= 214, 'collector', 'a collector name');
  need(isSafeLabel(v.label), 'label', 'a file-safe label ([A-Za-z0-9._-], not a path)');
  need(isObj(v.options), 'options', 'an object');
  need(typeof v.model === 'string', 'model', 'the model path (a string)');
  need(typeof v.modelSha256 === 'string' && /^[0-9a-f]{64}$/.test(v.modelSha256), 'modelSha256', 'a sha256 (64 hex digits)');
  need(Array.isArray(v.tensors) && v.tensors.length > 0 && v.tensors.length <= SNAPSHOT_LIMITS.maxTensors && v.tensors.every((t) => typeof t === 'string' && t.length > 0), 'tensors', 'a non-empty array of tensor names');
  need(isObj(v.shard) && isCount(v.shard.count, 1, SNAPSHOT_LIMITS.maxShards) && isCount(v.shard.index, 1, v.shard.count), 'shard', `{ index, count } with 1 <= index <= count <= ${SNAPSHOT_LIMITS.maxShards}`);
  need(isCount(v.samples, 1), 'samples', 'an integer >= 1');
  need(isCount(v.batches, 1, isCount(v.samples, 1) ? v.samples : Number.MAX_SAFE_INTEGER), 'batches', 'an integer in [1, samples]');
  need(typeof v.dataFingerprint === 'string', 'dataFingerprint', 'a string');
  need(typeof v.dataset === 'string' && v.dataset.length > 0, 'dataset', 'a string');
  need('state' in v && v.state !== undefined, 'state', "the collector's state");
  if (v.fastMode !== undefined) need(isObj(v.fastMode) && isCount(v.fastMode.sampleValues, 1) && isCount(v.fastMode.sampledTensors, 1), 'fastMode', '{ sampleValues, sampledTensors } (integers >= 1)');
  if (!problems.length && nestingDepth(v) > MAX_NESTING) problems.push(`values nested more than ${MAX_NESTING} levels deep`);
  if (problems.length) throw new TableError(`${file}: malformed snapshot: ${problems.join('; ')}; ${redo}`);
  if (v.checksum !== snapshotChecksum(v)) {
    throw new TableError(`${file}: checksum mismatch: the snapshot was changed or damaged after it was written; ${redo}`);
  }
  return v;
}

function show(x: unknown): string {
  try {
    const s = JSON.stringify(x) ?? String(x);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
  } catch {
    return typeof x;
  }
}

/**
 * The snapshots of `label` in the shard directories, in slice order, checked to belong together:
 * same model bytes, collector, options and tensors, shards 1..n of the same n, each once.
 */
export function gatherSnapshots(dirs: readonly string[], label: string): SnapshotFile[] {
  return gatherSnapshotFiles(dirs, label).map((s) => s.snap);
}

/** {@link gatherSnapshots} with the file each snapshot was read from. */
export function gatherSnapshotFiles(dirs: readonly string[], label: string): { file: string; snap: SnapshotFile }[] {
  if (!isSafeLabel(label)) throw new TableError(`${label}.snapshot: "${label}" is not a file-safe collector label`);
  const snaps = dirs.map((d) => {
    const file = path.join(d, `${label}.snapshot`);
    if (!fs.existsSync(file)) throw new ConfigError(`${d}: no ${label}.snapshot; expected a directory written by 'qcal calibrate --shard I/N --out ${d}' with the same collectors`);
    return { file, snap: readSnapshot(file) };
  });
  for (const { file, snap } of snaps) {
    // A name read from a file is never used as a path: it must be the file's own name.
    if (snap.label !== label) throw new TableError(`${file}: its label ${JSON.stringify(snap.label)} does not match the file name (${label}.snapshot)`);
  }
  snaps.sort((a, b) => a.snap.shard.index - b.snap.shard.index);
  const first = snaps[0]!;
  const n = first.snap.shard.count;
  if (n !== dirs.length) {
    throw new TableError(`cannot merge ${label}: ${first.file} is shard ${first.snap.shard.index} of ${n}, but ${dirs.length} shard director${dirs.length === 1 ? 'y was' : 'ies were'} given; give all ${n}`);
  }
  for (const { file, snap } of snaps) {
    const differs = (what: string, a: unknown, b: unknown): never => {
      throw new TableError(`${file}: cannot merge with ${first.file}: different ${what} (${JSON.stringify(a)} vs ${JSON.stringify(b)})`);
    };
    if (snap.modelSha256 !== first.snap.modelSha256) differs('model (sha256 of the model file)', snap.model, first.snap.model);
    if (snap.collector !== first.snap.collector) differs('collector', snap.collector, first.snap.collector);
    if (stableStringify(snap.options) !== stableStringify(first.snap.options)) differs('collector options', snap.options, first.snap.options);
    if (stableStringify(snap.tensors) !== stableStringify(first.snap.tensors)) differs('tensor selection', `${snap.tensors.length} tensors`, `${first.snap.tensors.length} tensors`);
    // Samples and every value do not mix silently (a fast shard's histograms hold 1/k of the values).
    if (stableStringify(snap.fastMode ?? null) !== stableStringify(first.snap.fastMode ?? null)) differs('fast mode (--fast-sample)', snap.fastMode?.sampleValues ?? 0, first.snap.fastMode?.sampleValues ?? 0);
    if (snap.shard.count !== n) differs('shard count', snap.shard.count, n);
    if (snap.dataset !== first.snap.dataset) differs('data set (the shards were cut from different data or with a different selection)', snap.dataset.slice(0, 12), first.snap.dataset.slice(0, 12));
  }
  const indices = snaps.map((s) => s.snap.shard.index);
  const expected = Array.from({ length: n }, (_, i) => i + 1);
  if (stableStringify(indices) !== stableStringify(expected)) {
    throw new TableError(`cannot merge ${label}: got shards ${indices.join(', ')} of ${n}; expected each of ${expected.join(', ')} exactly once`);
  }
  return snaps;
}
