import { createHash, randomUUID } from 'node:crypto';
import { ConfigError, DataError, messageOf } from '../errors';
import type { FeedTensor } from '../tensor';
import { checkFeeds, checkSampleParts, feedTypeOf, fmtDims } from './check';
import { canConvert, convertTyped, type FeedData } from './dtype';
import { npyPart } from './npy-part';
import { wavPart } from './wav-part';
import { hashFile, mapLimit } from './file-io';
import { resolveLimits, raiseHint, type Limits } from '../limits';
import type { SampleRef } from './part';
import { checkSelectOptions, selectSamples } from './select';
import { collectSamples, type PartMaker } from './sources';
import { shapeKey, stackOnAxis } from './stack';
import { resolveInputs } from './input-settings';
import { sequenceSteps, withInputs } from './sequence';
import type { Batch, DataOptions, DataSource, ModelInputSpec, OpenedData } from './types';
import { npzParts } from './npz-part';
import { imagePartMaker, resolvePreprocess } from './image-part';

interface Planned { ref: SampleRef; dims: Record<string, number[]> }

/**
 * Open calibration data for a model: enumerate it, select (shuffle/numSamples/shard), read every
 * header and check every sample against the model inputs, and plan the batches — all before
 * returning, so a mismatch is reported (DataError naming the file and the input) before the
 * first inference. Payloads are decoded lazily: one batch in use plus one prefetched.
 *
 * Batching: dim 0 of every input is the batch dim. An array with the input's rank keeps its own
 * dim 0 (usually 1); an array with one dim less gets a leading 1. A batch concatenates up to
 * `batchSize` samples on dim 0 (dims[0] of a feed = sum of the samples' dim 0; `Batch.size` =
 * number of samples). Only samples whose other dims agree on every input are stacked: file
 * sources are bucketed by shape (buckets in order of first appearance, then cut into batches),
 * a programmatic source starts a new batch when the shape changes. When every input fixes its
 * batch dim to the same F > 1, batchSize defaults to F, and each batch must hold exactly F rows.
 */
export async function openData(opts: DataOptions, allInputs: readonly ModelInputSpec[], cwd: string = process.cwd(), outputs?: readonly string[]): Promise<OpenedData> {
  checkSelectOptions(opts);
  if (allInputs.length === 0) throw new DataError('the model has no inputs to feed');
  for (const i of allInputs) feedTypeOf(i);
  // Inputs given once in config and sequence feedback are not read from the data.
  const resolved = resolveInputs(allInputs, opts.inputs, opts.sequence, outputs);
  const inputs = resolved.data;
  if (inputs.length === 0) throw new ConfigError(`every model input is given in config (inputs/sequence): there is nothing to read from the data`);
  const noAxis = inputs.filter((i) => i.batchAxis === null);
  if (noAxis.length && (opts.batchSize ?? 1) > 1) {
    throw new ConfigError(`batchSize ${opts.batchSize}: input${noAxis.length > 1 ? 's' : ''} ${noAxis.map((i) => `'${i.name}'`).join(', ')} ha${noAxis.length > 1 ? 've' : 's'} no batch axis, so samples cannot be stacked; use batchSize 1, give the value once in config (inputs: { "${noAxis[0]!.name}": <value> }) or set its batchAxis`);
  }
  if (opts.sequence && (opts.batchSize ?? 1) > 1) throw new ConfigError(`batchSize ${opts.batchSize}: sequence mode feeds one sequence at a time; use batchSize 1`);
  if (typeof opts.data !== 'string') return withInputs(openProgrammatic(opts.data, opts, inputs), resolved, opts.sequence, undefined);
  if (opts.data === '') throw new ConfigError('data: expected a directory, a list file or a .npy/.npz/image file');

  const pre = resolvePreprocess(opts.preprocess);
  const limits = resolveLimits(opts.limits);
  const maker: PartMaker = { npy: npyPart, npz: npzParts, image: imagePartMaker(pre, limits), wav: wavPart };
  const names = inputs.map((i) => i.name);
  const collected = await collectSamples(opts.data, inputs, maker, cwd, (all) => selectSamples(all, opts));
  const { samples, stamps, what, total, allIds } = collected;
  if (samples.length === 0) throw new DataError(`${what}: the selection is empty (${total} samples, numSamples ${opts.numSamples ?? 'all'}${opts.shard ? `, shard ${opts.shard.index}/${opts.shard.count}` : ''})`);
  const planned: Planned[] = samples.map((ref) => ({ ref, dims: checkSampleParts(ref.id, ref.parts, inputs, limits) }));

  const batchSize = opts.batchSize ?? defaultBatchSize(inputs);
  // Bucket by shape (all dims but the batch dim), buckets in order of first appearance, each cut
  // into batches of batchSize: lines of different widths run as separate batches.
  const buckets = new Map<string, Planned[]>();
  const axes = Object.fromEntries(inputs.map((i) => [i.name, i.batchAxis ?? null]));
  for (const p of planned) {
    const k = shapeKey(p.dims, names, axes);
    if (!buckets.has(k)) buckets.set(k, []);
    buckets.get(k)!.push(p);
  }
  const plan: Planned[][] = [];
  for (const b of buckets.values()) for (let i = 0; i < b.length; i += batchSize) plan.push(b.slice(i, i + batchSize));
  for (const batch of plan) checkBatchSize(batch, inputs, limits, batchSize);
  for (const batch of plan) checkFixedBatchDim(batch.map((p) => ({ id: p.ref.id, dims: p.dims })), inputs, batchSize);

  // By content: a copy that kept size and mtime (cp -p, rsync, tar) but changed bytes is new data.
  // Reading every file once more is cheap next to inference (and the OS caches it for the run).
  const contentHashes = await mapLimit(stamps, 4, (s) => hashFile(s.file));
  const fingerprint = createHash('sha256').update(JSON.stringify({
    v: 2,
    files: stamps.map((s, i) => [s.file, s.size, contentHashes[i]]),
    samples: samples.map((s) => s.id),
    preprocess: pre,
    numSamples: opts.numSamples ?? null, shuffle: !!opts.shuffle, seed: opts.seed ?? 0, shard: opts.shard ?? null, batchSize,
    inputs: inputs.map((i) => [i.name, i.type, i.dims]),
  })).digest('hex');

  const shapes = [...buckets.values()].slice(0, 3).map((b) => names.map((n) => `${n} ${fmtDims(b[0]!.dims[n]!)}`).join(', '));
  const describe = `${what}: ${samples.length} of ${total} samples${opts.shard ? ` (shard ${opts.shard.index}/${opts.shard.count})` : ''}, ` +
    `${plan.length} batch${plan.length === 1 ? '' : 'es'} of up to ${batchSize}; ` +
    `${buckets.size} shape${buckets.size === 1 ? '' : 's'} (${shapes.join(' | ')}${buckets.size > 3 ? ' | …' : ''})` +
    (pre.used ? `; preprocess ${pre.name}` : '');

  const loadBatch = async (batch: Planned[]): Promise<Batch> => {
    const feeds: Record<string, FeedTensor> = {};
    const loaded = await Promise.all(batch.map(async (p) => {
      const out: Record<string, FeedData> = {};
      for (const input of inputs) out[input.name] = await p.ref.parts[input.name]!.load(feedTypeOf(input));
      return out;
    }));
    for (const input of inputs) {
      feeds[input.name] = stackOnAxis(feedTypeOf(input), loaded.map((l) => l[input.name]!), batch.map((p) => p.dims[input.name]!), input.batchAxis);
    }
    return { ids: batch.map((p) => p.ref.id), feeds, size: batch.length };
  };

  const steps = opts.sequence ? planned.reduce((a, p) => a + (opts.sequence!.chunk ? sequenceSteps(p.ref.id, p.dims, opts.sequence!.chunk) : 1), 0) : undefined;
  const dataset = createHash('sha256').update(JSON.stringify({
    v: 1, allIds, preprocess: pre, numSamples: opts.numSamples ?? null, shuffle: !!opts.shuffle, seed: opts.seed ?? 0, shards: opts.shard?.count ?? 1, batchSize,
  })).digest('hex');
  return withInputs({
    count: samples.length,
    fingerprint: resolvedFingerprint(fingerprint, resolved),
    dataset,
    describe: describe + (Object.keys(resolved.constants).length ? `; given in config: ${Object.keys(resolved.constants).join(', ')}` : ''),
    batches: () => prefetching(plan, loadBatch),
  }, resolved, opts.sequence, steps);
}

/** The data fingerprint extended with the values given in config (they change what the model sees). */
function resolvedFingerprint(base: string, resolved: ReturnType<typeof resolveInputs>): string {
  const consts = Object.entries(resolved.constants).map(([n, t]) => [n, t.type, t.dims, Array.from(t.data as ArrayLike<number | bigint>, (x) => String(x))]);
  if (!consts.length && !resolved.feedback.length) return base;
  return createHash('sha256').update(JSON.stringify({ base, consts, feedback: resolved.feedback.map((f) => [f.input, f.output]) })).digest('hex');
}

/** Yield loaded batches, loading the next one while the consumer works on the current one. */
async function* prefetching<T>(plan: readonly T[], load: (b: T) => Promise<Batch>): AsyncGenerator<Batch> {
  let next: Promise<Batch> | undefined = plan.length ? load(plan[0]!) : undefined;
  next?.catch(() => undefined); // handled when awaited
  for (let i = 0; i < plan.length; i++) {
    const current = await next!;
    next = i + 1 < plan.length ? load(plan[i + 1]!) : undefined;
    next?.catch(() => undefined);
    yield current;
  }
}

/** A batch's stacked inputs stay within limits.maxBatchElements (checked on headers, before loading). */
function checkBatchSize(batch: readonly Planned[], inputs: readonly ModelInputSpec[], limits: Limits, batchSize: number): void {
  for (const input of inputs) {
    const n = batch.reduce((a, p) => a + (p.dims[input.name] ?? []).reduce((x, d) => x * d, 1), 0);
    if (n > limits.maxBatchElements) {
      throw new DataError(`the batch starting at ${batch[0]!.ref.id} stacks ${n} elements for input '${input.name}' (${batch.length} samples, batchSize ${batchSize}), more than limits.maxBatchElements (${limits.maxBatchElements}); use a smaller --batch-size or ${raiseHint('maxBatchElements')}`);
    }
  }
}

/** When every input fixes its batch dim to the same F > 1, default batchSize to F. */
function defaultBatchSize(inputs: readonly ModelInputSpec[]): number {
  const withAxis = inputs.filter((i) => i.batchAxis !== null);
  if (withAxis.length < inputs.length) return 1;
  const d0 = withAxis.map((i) => i.dims[i.batchAxis ?? 0]);
  const f = d0[0];
  return typeof f === 'number' && f > 1 && d0.every((d) => d === f) ? f : 1;
}

function checkFixedBatchDim(batch: { id: string; dims: Record<string, number[]> }[], inputs: readonly ModelInputSpec[], batchSize: number): void {
  for (const input of inputs) {
    if (input.batchAxis === null) continue;
    const ax = input.batchAxis ?? 0;
    const f = input.dims[ax];
    if (typeof f !== 'number' || f < 0) continue;
    const rows = batch.reduce((a, s) => a + s.dims[input.name]![ax]!, 0);
    if (rows !== f) {
      throw new DataError(`input '${input.name}' has a fixed batch dim of ${f} ${fmtDims(input.dims)}, but the batch starting at ${batch[0]!.id} has ${rows} row${rows === 1 ? '' : 's'} (${batch.length} sample${batch.length === 1 ? '' : 's'}, batchSize ${batchSize}); ` +
        `choose batchSize and numSamples so that every batch holds exactly ${f} rows of one shape`);
    }
  }
}

/** A programmatic source: checked sample by sample as it arrives (its size is unknown). */
function openProgrammatic(source: DataSource, opts: DataOptions, inputs: readonly ModelInputSpec[]): OpenedData {
  if (!source || typeof (source as AsyncIterable<unknown>)[Symbol.asyncIterator] !== 'function') {
    throw new ConfigError('data: expected a path or an AsyncIterable of feed records (DataSource)');
  }
  if (opts.shuffle || opts.shard) throw new ConfigError('shuffle and shard need a file data source (the size of a programmatic DataSource is unknown)');
  if (opts.preprocess !== undefined) throw new ConfigError('preprocess applies to image files, not to a programmatic DataSource');
  const names = inputs.map((i) => i.name);
  const batchSize = opts.batchSize ?? defaultBatchSize(inputs);
  const limit = opts.numSamples ?? Infinity;
  async function* batches(): AsyncGenerator<Batch> {
    let pending: { id: string; feeds: Record<string, FeedTensor>; dims: Record<string, number[]> }[] = [];
    let key = '';
    const flush = (): Batch => {
      checkFixedBatchDim(pending, inputs, batchSize);
      const feeds: Record<string, FeedTensor> = {};
      for (const input of inputs) {
        const t = feedTypeOf(input);
        feeds[input.name] = stackOnAxis(t, pending.map((p) => p.feeds[input.name]!.data), pending.map((p) => p.dims[input.name]!), input.batchAxis);
      }
      const b = { ids: pending.map((p) => p.id), feeds, size: pending.length };
      pending = [];
      return b;
    };
    let i = 0;
    for await (const item of source) {
      if (i >= limit) break;
      const id = `sample #${i}`;
      i++;
      let dims: Record<string, number[]>;
      try {
        dims = checkFeeds(id, item, inputs, resolveLimits(opts.limits));
      } catch (err) {
        throw err instanceof DataError ? err : new DataError(`${id}: ${messageOf(err)}`, { cause: err });
      }
      const feeds: Record<string, FeedTensor> = {};
      for (const input of inputs) {
        const f = item[input.name]!;
        const t = feedTypeOf(input);
        feeds[input.name] = f.type === t ? f : { type: t, data: canConvert(f.type, t) ? convertTyped(f.data, f.type, t) : f.data, dims: f.dims };
      }
      const k = shapeKey(dims, names, Object.fromEntries(inputs.map((x) => [x.name, x.batchAxis ?? null])));
      if (pending.length && (k !== key || pending.length >= batchSize)) yield flush();
      key = k;
      pending.push({ id, feeds, dims });
    }
    if (i === 0) throw new DataError('the DataSource yielded no samples');
    if (pending.length) yield flush();
  }
  return {
    count: undefined,
    // A programmatic source cannot be fingerprinted: a unique value so no cache ever reuses it.
    fingerprint: `programmatic:${randomUUID()}`,
    describe: `programmatic DataSource, batches of up to ${batchSize}${opts.numSamples ? `, at most ${opts.numSamples} samples` : ''}`,
    batches,
  };
}
