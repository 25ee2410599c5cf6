import { DataError } from '../errors';
import type { FeedTensor } from '../tensor';
import { canConvert, isFeedType, type FeedType, type StoredType } from './dtype';
import type { ModelInputSpec } from './types';
import { DEFAULT_LIMITS, raiseHint, type Limits } from '../limits';

/** Feed type of a model input, or a DataError when the data layer cannot feed it. */
export function feedTypeOf(input: ModelInputSpec): FeedType {
  if (!isFeedType(input.type)) throw new DataError(`input '${input.name}' has element type ${input.type}, which qcal cannot feed (expected float32, float16, float64, int8, uint8, int32, int64 or bool)`);
  return input.type;
}

export function fmtDims(dims: readonly (number | string | null)[]): string {
  return `[${dims.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;
}

/** The batch axis of an input (0 unless said otherwise; null: it has none). */
export function batchAxisOf(input: ModelInputSpec): number | null {
  return input.batchAxis === undefined ? 0 : input.batchAxis;
}

/**
 * The dims an array will be fed with: its own dims when its rank equals the input's, or with a
 * batch dim of 1 inserted at the input's batch axis when it has one dim less (a sample saved
 * without a batch dim). Every fixed dim but the batch dim must match; the batch dim is checked
 * per batch. An input without a batch axis (a scalar) takes the array as it is (a [1] array for a
 * rank-0 input is accepted as the scalar).
 */
export function feedDims(label: string, input: ModelInputSpec, dims: readonly number[], type: StoredType, limits: Limits = DEFAULT_LIMITS): number[] {
  const want = feedTypeOf(input);
  if (!canConvert(type, want)) {
    throw new DataError(`${label}: input '${input.name}' expects ${want}, found ${type}; ${type.startsWith('float') ? 'a float array cannot be converted to an integer input' : 'this conversion could lose values'} (convert the data, e.g. numpy's arr.astype('${want}'))`);
  }
  const r = input.dims.length;
  const ax = batchAxisOf(input);
  let d: number[];
  if (dims.length === r) d = [...dims];
  else if (r === 0 && dims.length === 1 && dims[0] === 1) d = [];
  else if (ax !== null && dims.length === r - 1) d = [...dims.slice(0, ax), 1, ...dims.slice(ax)];
  else if (ax === null) throw new DataError(`${label}: input '${input.name}' expects rank ${r} ${fmtDims(input.dims)}${r === 0 ? ' (a scalar)' : ''}, found rank ${dims.length} ${fmtDims(dims)}${r === 0 ? '; a value the same for every sample can be given once in config: inputs: { "' + input.name + '": <value> }' : ''}`);
  else throw new DataError(`${label}: input '${input.name}' expects rank ${r} ${fmtDims(input.dims)} (or ${r - 1} without the batch dim${ax ? `, axis ${ax}` : ''}), found rank ${dims.length} ${fmtDims(dims)}`);
  for (let k = 0; k < r; k++) {
    if (k === ax) continue;
    const m = input.dims[k];
    if (typeof m === 'number' && m >= 0 && d[k] !== m) {
      throw new DataError(`${label}: input '${input.name}' expects ${fmtDims(input.dims)}, found ${fmtDims(dims)} (dim ${k} must be ${m})`);
    }
  }
  // An empty array has nothing to calibrate with (and onnxruntime rejects it only at inference).
  if (d.some((x) => x === 0)) throw new DataError(`${label}: input '${input.name}' gets an empty array ${fmtDims(dims)} (a dim of size 0); every sample needs at least one element`);
  const elements = d.reduce((a, x) => a * x, 1);
  if (elements > limits.maxSampleElements) {
    throw new DataError(`${label}: input '${input.name}' gets ${fmtDims(dims)} = ${elements} elements, more than limits.maxSampleElements (${limits.maxSampleElements}); ${raiseHint('maxSampleElements')}`);
  }
  return d;
}

/** Check one sample's arrays against the model inputs; returns the dims each will be fed with. */
export function checkSampleParts(
  id: string,
  parts: Record<string, { label: string; dims: readonly number[]; type: StoredType }>,
  inputs: readonly ModelInputSpec[],
  limits: Limits = DEFAULT_LIMITS,
): Record<string, number[]> {
  const names = inputs.map((i) => i.name);
  const extra = Object.keys(parts).filter((n) => !names.includes(n));
  if (extra.length) {
    throw new DataError(`${parts[extra[0]!]!.label}: '${extra[0]}' is not a model input (inputs: ${names.join(', ')})`);
  }
  const out: Record<string, number[]> = {};
  let rows: number | undefined;
  for (const input of inputs) {
    const p = parts[input.name];
    if (!p) throw new DataError(`${id}: no data for input '${input.name}' (model inputs: ${names.join(', ')})`);
    const d = feedDims(p.label, input, p.dims, p.type, limits);
    const ax = batchAxisOf(input);
    if (ax !== null) {
      if (rows !== undefined && d[ax] !== rows) throw new DataError(`${id}: inputs disagree on the batch dim (${rows} vs ${d[ax]} for '${input.name}', its axis ${ax}); if '${input.name}' batches on another axis, say so in config: inputs: { "${input.name}": { "batchAxis": N } }`);
      rows = d[ax];
    }
    out[input.name] = d;
  }
  return out;
}

/** checkSampleParts for a programmatic sample (a feed record). */
export function checkFeeds(id: string, feeds: Record<string, FeedTensor>, inputs: readonly ModelInputSpec[], limits: Limits = DEFAULT_LIMITS): Record<string, number[]> {
  if (feeds === null || typeof feeds !== 'object') throw new DataError(`${id}: expected a record of input name → FeedTensor, got ${String(feeds)}`);
  const parts: Record<string, { label: string; dims: readonly number[]; type: StoredType }> = {};
  for (const [name, t] of Object.entries(feeds)) {
    if (!t || !Array.isArray(t.dims) || !t.data || !isFeedType(t.type)) throw new DataError(`${id}: feed '${name}' is not a FeedTensor ({ type, data, dims })`);
    const n = t.dims.reduce((a, b) => a * b, 1);
    if (t.data.length !== n) throw new DataError(`${id}: feed '${name}' has ${t.data.length} elements for dims ${fmtDims(t.dims)} (${n})`);
    parts[name] = { label: `${id} '${name}'`, dims: t.dims, type: t.type };
  }
  return checkSampleParts(id, parts, inputs, limits);
}
