import { ConfigError } from '../errors';
import type { FeedTensor } from '../tensor';
import { allocTyped, type FeedData, type FeedType } from './dtype';
import { feedTypeOf, fmtDims } from './check';
import type { ModelInputSpec } from './types';

/** A value given once for an input: a number (scalar, or every element) or a nested array. */
export type InputValue = number | boolean | readonly InputValue[];

/** Per-input settings (config `inputs: { name: setting }`; a bare value is `{ value }`). */
export interface InputSetting {
  /** Which axis samples stack on; null = the input has none (scalars, per-run constants). */
  readonly batchAxis?: number | null;
  /** Fed unchanged to every inference instead of being read from the data (e.g. `sr: 16000`). */
  readonly value?: InputValue;
}

/**
 * Streaming models whose state is an input and an output: each data sample is a sequence, fed
 * chunk by chunk, and `feedback` output values become the next chunk's inputs.
 */
export interface SequenceOptions {
  /** input name → output name fed back into it after each chunk (`{ state: 'stateN' }`). */
  readonly feedback: Readonly<Record<string, string>>;
  /**
   * Inputs cut into chunks along their last axis: `size` new values per step, preceded by the
   * `context` values before them (zeros at the start), as streaming wrappers feed Silero VAD
   * (512 + 64 at 16 kHz). Without `chunk`, every sample file is one step and a sequence is a
   * whole data source in order (rarely what you want).
   */
  readonly chunk?: Readonly<Record<string, { readonly size: number; readonly context?: number }>>;
}

const BATCH_NAMES = /^(batch|batch_?size|batch_?dim|n|b|bs)$/i;

/**
 * The batch axis of an input from its dims: none for rank 0; the dim whose symbolic name says
 * batch (`batch`, `N`, `batch_size`); else axis 0 when it is dynamic; else the first dynamic axis
 * when axis 0 is fixed > 1 (Silero's state [2, batch, 128]); else 0 (a fixed [1, 3, 224, 224]).
 */
export function inferBatchAxis(dims: readonly (number | string | null)[]): number | null {
  if (dims.length === 0) return null;
  const named = dims.findIndex((d) => typeof d === 'string' && d !== '?' && BATCH_NAMES.test(d));
  if (named >= 0) return named;
  const dynamic = (d: number | string | null | undefined): boolean => d === null || typeof d === 'string';
  if (dynamic(dims[0])) return 0;
  const first = dims.findIndex(dynamic);
  if (typeof dims[0] === 'number' && dims[0] > 1 && first > 0) return first;
  return 0;
}

function shapeOf(v: InputValue, where: string): number[] {
  if (!Array.isArray(v)) return [];
  const arr = v as readonly InputValue[];
  if (arr.length === 0) return [0];
  const inner = shapeOf(arr[0]!, where);
  for (const x of arr) {
    if (JSON.stringify(shapeOf(x, where)) !== JSON.stringify(inner)) throw new ConfigError(`${where}: a ragged nested array; expected every row to have the same shape`);
  }
  return [arr.length, ...inner];
}

function fillTyped(type: FeedType, n: number, values: readonly (number | boolean)[] | undefined, scalar: number): FeedData {
  const out = allocTyped(type, n) as FeedData;
  for (let i = 0; i < n; i++) {
    const x = values ? Number(values[i]) : scalar;
    if (out instanceof BigInt64Array) out[i] = BigInt(Math.round(x));
    else (out as Float32Array)[i] = x;
  }
  return out;
}

/**
 * The tensor of a value given once for `input`. A nested array gives its own dims (a missing batch
 * axis is added as 1); a number fills a rank-0 input, or every element of an input whose dims are
 * fixed apart from the batch axis (taken as 1) — `state: 0` for an all-zero initial state.
 */
export function constantFeed(input: ModelInputSpec, value: InputValue, where: string): FeedTensor {
  const type = feedTypeOf(input);
  if (type === 'float16') throw new ConfigError(`${where}: a value for the float16 input '${input.name}' cannot be given in config; put it in the data files`);
  const axis = input.batchAxis === undefined ? inferBatchAxis(input.dims) : input.batchAxis;
  const check = (x: unknown): void => {
    if (typeof x === 'boolean') return;
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new ConfigError(`${where}: found ${JSON.stringify(x)}, expected finite numbers`);
    if (type !== 'float32' && type !== 'float64' && !Number.isInteger(x)) throw new ConfigError(`${where}: input '${input.name}' is ${type}, found the non-integer ${x}`);
  };
  if (Array.isArray(value)) {
    let dims = shapeOf(value, where);
    const flat = (value as unknown[]).flat(Infinity) as (number | boolean)[];
    flat.forEach(check);
    if (axis !== null && dims.length === input.dims.length - 1) dims = [...dims.slice(0, axis), 1, ...dims.slice(axis)];
    if (dims.length !== input.dims.length) throw new ConfigError(`${where}: input '${input.name}' expects rank ${input.dims.length} ${fmtDims(input.dims)}, the value has dims ${fmtDims(dims)}`);
    input.dims.forEach((d, k) => {
      if (typeof d === 'number' && d >= 0 && k !== axis && dims[k] !== d) throw new ConfigError(`${where}: input '${input.name}' expects ${fmtDims(input.dims)}, the value has dims ${fmtDims(dims)} (dim ${k} must be ${d})`);
    });
    return { type, data: fillTyped(type, flat.length, flat, 0), dims };
  }
  check(value);
  const dims = input.dims.map((d, k) => {
    if (k === axis) return 1;
    if (typeof d === 'number' && d >= 0) return d;
    throw new ConfigError(`${where}: input '${input.name}' has the dynamic dim ${k} in ${fmtDims(input.dims)}, so a single number cannot say its shape; give a nested array`);
  });
  return { type, data: fillTyped(type, dims.reduce((a, b) => a * b, 1), undefined, Number(value)), dims };
}

/** Inputs split by where their values come from. */
export interface ResolvedInputs {
  /** Inputs read from the data (with batch axes resolved). */
  readonly data: ModelInputSpec[];
  /** Inputs given once in config, fed to every inference. */
  readonly constants: Readonly<Record<string, FeedTensor>>;
  /** The batch axis of each constant (its value has batch dim 1 there, repeated to the batch's rows). */
  readonly constantAxes: Readonly<Record<string, number | null>>;
  /** Sequence mode: input ← output, with the value each sequence starts from. */
  readonly feedback: readonly { readonly input: string; readonly output: string; readonly initial: FeedTensor }[];
}

/**
 * Applies the `inputs` settings and the sequence feedback to the model inputs. Every name must be
 * a model input; feedback inputs start from their `value` (zeros by default).
 */
export function resolveInputs(inputs: readonly ModelInputSpec[], settings: Readonly<Record<string, InputSetting | InputValue>> = {}, sequence?: SequenceOptions, outputs?: readonly string[]): ResolvedInputs {
  const names = inputs.map((i) => i.name);
  const problems: string[] = [];
  const norm = new Map<string, InputSetting>();
  for (const [name, s] of Object.entries(settings)) {
    if (!names.includes(name)) { problems.push(`inputs.${name}: not a model input (inputs: ${names.join(', ')})`); continue; }
    const setting: InputSetting = typeof s === 'object' && s !== null && !Array.isArray(s) ? s as InputSetting : { value: s as InputValue };
    const extra = Object.keys(setting).filter((k) => k !== 'batchAxis' && k !== 'value');
    if (extra.length) problems.push(`inputs.${name}: unknown key ${extra.map((k) => `"${k}"`).join(', ')}; expected batchAxis and/or value`);
    const input = inputs.find((i) => i.name === name)!;
    const ba = setting.batchAxis;
    if (ba !== undefined && ba !== null && (!Number.isInteger(ba) || ba < 0 || ba >= input.dims.length)) {
      problems.push(`inputs.${name}.batchAxis: found ${JSON.stringify(ba)}, expected null or an axis in 0..${input.dims.length - 1} of ${fmtDims(input.dims)}`);
    }
    norm.set(name, setting);
  }
  const feedback = sequence ? Object.entries(sequence.feedback ?? {}) : [];
  for (const [inp, out] of feedback) {
    if (!names.includes(inp)) problems.push(`sequence.feedback.${inp}: not a model input (inputs: ${names.join(', ')})`);
    if (outputs && !outputs.includes(out)) problems.push(`sequence.feedback.${inp}: "${out}" is not a model output (outputs: ${outputs.join(', ')})`);
  }
  for (const [inp, c] of Object.entries(sequence?.chunk ?? {})) {
    if (!names.includes(inp)) problems.push(`sequence.chunk.${inp}: not a model input (inputs: ${names.join(', ')})`);
    if (!c || !Number.isInteger(c.size) || c.size < 1) problems.push(`sequence.chunk.${inp}.size: expected an integer > 0`);
    if (c && c.context !== undefined && (!Number.isInteger(c.context) || c.context < 0)) problems.push(`sequence.chunk.${inp}.context: expected an integer >= 0`);
  }
  if (problems.length) throw new ConfigError(problems.length === 1 ? problems[0]! : `${problems.length} input setting problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`, { problems });
  const withAxes = inputs.map((i) => {
    const s = norm.get(i.name);
    const batchAxis = s && s.batchAxis !== undefined ? s.batchAxis : i.batchAxis !== undefined ? i.batchAxis : inferBatchAxis(i.dims);
    return { ...i, batchAxis };
  });
  const constants: Record<string, FeedTensor> = {};
  const constantAxes: Record<string, number | null> = {};
  const fb: { input: string; output: string; initial: FeedTensor }[] = [];
  const data: ModelInputSpec[] = [];
  for (const i of withAxes) {
    const s = norm.get(i.name);
    const loop = feedback.find(([inp]) => inp === i.name);
    if (loop) fb.push({ input: i.name, output: loop[1], initial: constantFeed(i, s?.value ?? 0, `inputs.${i.name}`) });
    else if (s?.value !== undefined) {
      constants[i.name] = constantFeed(i, s.value, `inputs.${i.name}`);
      constantAxes[i.name] = i.batchAxis;
    }
    else data.push(i);
  }
  return { data, constants, constantAxes, feedback: fb };
}
