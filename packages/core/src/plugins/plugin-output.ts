import type { TensorRange } from '../tensor';

/** The largest finite float32: a range beyond it becomes ±Infinity in every table format and in the QDQ model. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** Deepest nesting accepted in a range's extra fields (a cycle is reported, not followed). */
const MAX_DEPTH = 32;

const fmt = (v: unknown): string => {
  if (typeof v === 'bigint') return `${v}n (a BigInt)`;
  if (typeof v === 'number') return String(v);
  try { return JSON.stringify(v) ?? String(v); } catch { return Object.prototype.toString.call(v); }
};

/** Reads a property of plugin data; a throwing getter or proxy trap becomes a problem. */
function read(o: object, key: string, problems: string[], where: string): { ok: boolean; value?: unknown } {
  try {
    return { ok: true, value: (o as Record<string, unknown>)[key] };
  } catch (e) {
    problems.push(`${where}: reading "${key}" threw: ${e instanceof Error ? e.message : fmt(e)}`);
    return { ok: false };
  }
}

/** A float32-finite number: finite in float64 and still finite once stored as float32. */
export function isFloat32Finite(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && Number.isFinite(Math.fround(v));
}

/**
 * A plain JSON copy of an extra field of a range (numbers finite, no BigInt, functions, symbols,
 * cycles or getters that throw), or a problem. Tables are written as JSON: anything else would
 * fail there, or be written as something else than the plugin returned.
 */
function plainCopy(v: unknown, where: string, problems: string[], seen: Set<object>, depth: number): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) problems.push(`${where} is ${v}; expected a finite number`);
    return v;
  }
  if (typeof v !== 'object') {
    problems.push(`${where} is ${fmt(v)} (${typeof v}); expected JSON data (number, string, boolean, array, object)`);
    return undefined;
  }
  if (seen.has(v)) { problems.push(`${where} refers back to itself (a cycle); expected plain JSON data`); return undefined; }
  if (depth > MAX_DEPTH) { problems.push(`${where} is nested more than ${MAX_DEPTH} levels deep`); return undefined; }
  seen.add(v);
  try {
    if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>, (x, i) => plainCopy(x, `${where}[${i}]`, problems, seen, depth + 1));
    let keys: string[];
    try { keys = Array.isArray(v) ? [...v.keys()].map(String) : Object.keys(v); } catch (e) {
      problems.push(`${where}: listing its keys threw: ${e instanceof Error ? e.message : fmt(e)}`);
      return undefined;
    }
    const out: Record<string, unknown> | unknown[] = Array.isArray(v) ? [] : {};
    for (const k of keys) {
      const r = read(v, k, problems, where);
      if (!r.ok) continue;
      const c = plainCopy(r.value, Array.isArray(v) ? `${where}[${k}]` : `${where}.${k}`, problems, seen, depth + 1);
      if (Array.isArray(out)) out.push(c); else Object.defineProperty(out, k, { value: c, enumerable: true, writable: true, configurable: true });
    }
    return out;
  } finally {
    seen.delete(v);
  }
}

/**
 * Checks postCollect's output: a range for every tensor asked and no other, each with float32-finite
 * numbers `min <= max`, extra fields plain JSON data. Never throws on hostile data (throwing
 * getters, proxies, cycles, BigInt): returns the problems and, when there are none, a clean copy.
 */
export function checkPluginRanges(result: unknown, tensorsAsked: readonly string[], ignore?: ReadonlySet<string>): { problems: string[]; ranges?: Record<string, TensorRange> } {
  if (typeof result !== 'object' || result === null || Array.isArray(result)) return { problems: [`returned ${fmt(result)} instead of an object { tensorName: { min, max } }`] };
  const problems: string[] = [];
  let keys: string[];
  try { keys = Object.keys(result); } catch (e) { return { problems: [`listing the returned tensors threw: ${e instanceof Error ? e.message : fmt(e)}`] }; }
  const own = new Set(keys);
  const asked = new Set(tensorsAsked);
  const missing = tensorsAsked.filter((t) => !own.has(t));
  const list = (a: string[]): string => `${a.slice(0, 10).map((t) => `"${t}"`).join(', ')}${a.length > 10 ? ', …' : ''}`;
  if (missing.length) problems.push(`returned no range for ${missing.length} tensor(s) it was asked to calibrate: ${list(missing)}`);
  const extra = keys.filter((t) => !asked.has(t) && !ignore?.has(t));
  if (extra.length) problems.push(`returned ranges for ${extra.length} tensor(s) it was not asked to calibrate: ${list(extra)}`);
  const ranges: Record<string, TensorRange> = Object.create(null) as Record<string, TensorRange>;
  for (const t of tensorsAsked) {
    if (!own.has(t)) continue;
    const where = `range for tensor "${t}"`;
    const got = read(result, t, problems, 'the result');
    if (!got.ok) continue;
    const r = got.value;
    if (typeof r !== 'object' || r === null || Array.isArray(r)) { problems.push(`${where} is ${fmt(r)}, expected { min, max }`); continue; }
    const before = problems.length;
    const minR = read(r, 'min', problems, where);
    const maxR = read(r, 'max', problems, where);
    let fields: string[] = [];
    try { fields = Object.keys(r); } catch (e) { problems.push(`${where}: listing its fields threw: ${e instanceof Error ? e.message : fmt(e)}`); }
    const copy: Record<string, unknown> = {};
    const seen = new Set<object>([r]);
    for (const k of fields) {
      if (k === 'min' || k === 'max') continue;
      const f = read(r, k, problems, where);
      if (f.ok) Object.defineProperty(copy, k, { value: plainCopy(f.value, `${where}.${k}`, problems, seen, 1), enumerable: true, writable: true, configurable: true });
    }
    if (problems.length > before) continue;
    const min = minR.value;
    const max = maxR.value;
    if (!isFloat32Finite(min) || !isFloat32Finite(max)) {
      const why = [min, max].some((v) => typeof v === 'number' && Number.isFinite(v) && !Number.isFinite(Math.fround(v))) ? ` (beyond ±${FLOAT32_MAX}, the float32 limit)` : '';
      problems.push(`${where} is min ${fmt(min)}, max ${fmt(max)}; expected float32-finite numbers with min <= max${why}`);
    } else if (min > max) {
      problems.push(`${where} has min ${min} > max ${max}; expected min <= max`);
    } else {
      ranges[t] = { ...copy, min, max };
    }
  }
  return problems.length ? { problems } : { problems, ranges: { ...ranges } };
}
