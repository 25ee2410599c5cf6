import { CalibrationError, ConfigError, DataError } from '../errors';
import type { FeedTensor } from '../tensor';
import { allocTyped, type FeedData } from './dtype';
import type { ResolvedInputs, SequenceOptions } from './input-settings';
import { stackOnAxis } from './stack';
import type { Batch, OpenedData } from './types';

/** Number of steps a sample of these dims gives: floor(last axis / size), the same for every chunked input. */
export function sequenceSteps(id: string, dims: Readonly<Record<string, readonly number[]>>, chunk: SequenceOptions['chunk']): number {
  let steps: number | undefined;
  for (const [name, c] of Object.entries(chunk ?? {})) {
    const d = dims[name];
    if (!d) continue;
    if (d.length === 0) throw new DataError(`${id}: input '${name}' is a scalar; sequence.chunk needs an array to cut along its last axis`);
    const n = Math.floor(d[d.length - 1]! / c.size);
    if (steps !== undefined && n !== steps) throw new DataError(`${id}: chunked inputs give different numbers of steps (${steps} vs ${n} for '${name}')`);
    steps = n;
  }
  return steps ?? 1;
}

/** The `k`-th window of `t` along its last axis: `context` values before `k·size`, then `size` values (zeros before the start). */
function window(t: FeedTensor, k: number, size: number, context: number): FeedTensor {
  const last = t.dims[t.dims.length - 1]!;
  const outer = t.data.length / last;
  const w = size + context;
  const out = allocTyped(t.type, outer * w) as FeedData;
  const start = k * size - context;
  const from = Math.max(0, start);
  for (let o = 0; o < outer; o++) {
    (out as Float32Array).set((t.data as Float32Array).subarray(o * last + from, o * last + k * size + size), o * w + (from - start));
  }
  return { type: t.type, data: out, dims: [...t.dims.slice(0, -1), w] };
}

/** Repeats a tensor given with batch dim 1 to `rows` along its batch axis. */
function tile(t: FeedTensor, axis: number | null, rows: number): FeedTensor {
  if (axis === null || rows === 1 || t.dims[axis] !== 1) return t;
  return stackOnAxis(t.type, new Array(rows).fill(t.data), new Array(rows).fill(t.dims), axis);
}

/**
 * Adds the inputs given once in config to every batch and, in sequence mode, turns each batch (one
 * sequence) into its steps: chunked inputs cut into windows, feedback inputs holding the initial
 * value at step 0 and then what `update` was last given. `steps` is the total number of steps when
 * known (file data), else undefined.
 */
export function withInputs(base: OpenedData, resolved: ResolvedInputs, sequence: SequenceOptions | undefined, steps: number | undefined): OpenedData {
  const constEntries = Object.entries(resolved.constants);
  const axisOf = new Map(resolved.data.map((i) => [i.name, i.batchAxis ?? null]));
  const rowsOf = (feeds: Record<string, FeedTensor>): number => {
    for (const [name, t] of Object.entries(feeds)) { const ax = axisOf.get(name); if (ax !== null && ax !== undefined) return t.dims[ax]!; }
    return 1;
  };
  const addConstants = (feeds: Record<string, FeedTensor>): Record<string, FeedTensor> => {
    if (!constEntries.length) return feeds;
    const rows = rowsOf(feeds);
    const out = { ...feeds };
    // A constant given with batch dim 1 follows the batch (repeated along its batch axis).
    for (const [name, t] of constEntries) out[name] = rows > 1 ? tile(t, resolved.constantAxes[name] ?? null, rows) : t;
    return out;
  };
  if (!sequence) {
    if (!constEntries.length) return base;
    return {
      ...base,
      batches: async function* () { for await (const b of base.batches()) yield { ...b, feeds: addConstants(b.feeds) }; },
    };
  }
  const state = new Map<string, FeedTensor>();
  const chunk = sequence.chunk ?? {};
  const feedbackOf = Object.fromEntries(resolved.feedback.map((f) => [f.input, f.output]));
  let global = 0;
  async function* batches(): AsyncGenerator<Batch> {
    global = 0;
    for await (const b of base.batches()) {
      if (b.size !== 1) throw new ConfigError(`sequence mode feeds one sequence at a time: batchSize must be 1 (found a batch of ${b.size})`);
      const dims = Object.fromEntries(Object.entries(b.feeds).map(([n, t]) => [n, t.dims]));
      const n = Object.keys(chunk).length ? sequenceSteps(b.ids[0]!, dims, chunk) : 1;
      for (let k = 0; k < n; k++) {
        const step = Object.keys(chunk).length ? k : global;
        const feeds: Record<string, FeedTensor> = {};
        for (const [name, t] of Object.entries(b.feeds)) {
          const c = chunk[name];
          feeds[name] = c ? window(t, k, c.size, c.context ?? 0) : t;
        }
        for (const f of resolved.feedback) feeds[f.input] = step === 0 ? f.initial : state.get(f.input) ?? f.initial;
        global++;
        yield { ids: [`${b.ids[0]!}@${k}`], feeds: addConstants(feeds), size: 1, step };
      }
    }
  }
  return {
    count: steps,
    fingerprint: `${base.fingerprint}:seq:${JSON.stringify(sequence)}`,
    ...(base.dataset ? { dataset: `${base.dataset}:seq:${JSON.stringify(sequence)}` } : {}),
    describe: `${base.describe}; sequence mode: ${steps ?? '?'} steps, ${resolved.feedback.map((f) => `${f.input} ← ${f.output}`).join(', ') || 'no feedback'}${Object.keys(chunk).length ? `, chunks ${Object.entries(chunk).map(([k, c]) => `${k} ${c.size}${c.context ? `+${c.context} context` : ''}`).join(', ')}` : ''}`,
    batches,
    sequence: {
      feedback: feedbackOf,
      update(outputs) {
        for (const f of resolved.feedback) {
          const v = outputs[f.output];
          if (!v) throw new CalibrationError(`sequence mode: the inference returned no value for output "${f.output}" (fed back into '${f.input}')`);
          if (v.type !== f.initial.type) throw new CalibrationError(`sequence mode: output "${f.output}" is ${v.type} but input '${f.input}' is ${f.initial.type}`);
          const data = (v.data as FeedData).slice() as FeedData;
          state.set(f.input, { type: f.initial.type, data, dims: [...v.dims] });
        }
      },
    },
  };
}
