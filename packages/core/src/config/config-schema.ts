import * as path from 'node:path';
import { closest } from '../options-schema';
import { compilePatterns } from '../select/compile-patterns';
import { OUTPUT_FORMATS, type ShardSpec } from './resolved-config';
import { DEFAULT_LIMITS } from '../limits';
import { preview, countNodes, nestingDepth, MAX_CONFIG_NODES, MAX_NESTING } from './config-size';

/** Where a value came from: the config file (paths resolve against its folder) or the command line. */
export interface ConfigSource {
  /** `/abs/qcal.config.json`, or `command line`. */
  readonly label: string;
  readonly isFlags: boolean;
  /** Folder relative paths are resolved against. */
  readonly baseDir: string;
}

/** A key's check: the normalized value, or what was expected. */
type Check = (value: unknown, key: string, src: ConfigSource, problems: string[]) => unknown;

/** At most 80 characters, however large (or alias-expanded) the value. */
const show = (v: unknown): string => preview(v, 80);

/** The flag spelling of a key (`numSamples` → `--num-samples`; repeatable flags are singular). */
export function flagName(key: string): string {
  const base = key === 'collectors' ? 'collector' : key === 'formats' ? 'format' : key === 'plugins' ? 'plugin' : key;
  return `--${base.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Prefix of a problem: `/abs/qcal.config.json: numSamples` or `--num-samples`. */
export function keyLabel(key: string, src: ConfigSource): string {
  if (!src.isFlags) return `${src.label}: ${key}`;
  const [head, ...rest] = key.split(/(?=\[)/);
  return `${flagName(head!)}${rest.join('')}`;
}

function expect(ok: boolean, expected: string, value: unknown, key: string, src: ConfigSource, problems: string[]): boolean {
  if (!ok) problems.push(`${keyLabel(key, src)}: found ${show(value)}, expected ${expected}`);
  return ok;
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const int = (min: number | undefined, expected: string): Check => (v, k, s, p) => (expect(isInt(v) && (min === undefined || v >= min), expected, v, k, s, p) ? v : undefined);
const bool: Check = (v, k, s, p) => (expect(typeof v === 'boolean', 'true or false', v, k, s, p) ? v : undefined);
const pathKey = (what: string): Check => (v, k, s, p) =>
  expect(typeof v === 'string' && v.trim() !== '', `${what} (a string)`, v, k, s, p) ? path.resolve(s.baseDir, v as string) : undefined;

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

function stringList(what: string, one: string): Check {
  return (v, k, s, p) => {
    if (!expect(Array.isArray(v), `an array of ${what}`, v, k, s, p)) return undefined;
    let ok = true;
    (v as unknown[]).forEach((x, i) => { ok = expect(typeof x === 'string' && x.trim() !== '', one, x, `${k}[${i}]`, s, p) && ok; });
    return ok ? Object.freeze([...(v as string[])]) : undefined;
  };
}

function patternList(): Check {
  const list = stringList('patterns (tensor names, globs, /regexes/, op:Type)', 'a pattern (tensor name, glob, /regex/ or op:Type)');
  return (v, k, s, p) => {
    const out = list(v, k, s, p) as readonly string[] | undefined;
    if (!out) return undefined;
    try { compilePatterns(out, keyLabel(k, s)); } catch (e) { p.push(...((e as { problems?: string[] }).problems ?? [])); return undefined; }
    return out;
  };
}

const collectorsCheck: Check = (v, k, s, p) => {
  if (!expect(Array.isArray(v) && v.length > 0, 'a non-empty array of collector names or [name, options]', v, k, s, p)) return undefined;
  let ok = true;
  const out = (v as unknown[]).map((ref, i) => {
    const where = `${k}[${i}]`;
    if (typeof ref === 'string' && ref.trim() !== '') return ref;
    if (Array.isArray(ref) && (ref.length === 1 || ref.length === 2) && typeof ref[0] === 'string' && ref[0].trim() !== '') {
      if (ref.length === 1 || ref[1] === undefined) return Object.freeze([ref[0]]);
      if (!expect(isObject(ref[1]), `an options object for collector "${ref[0]}"`, ref[1], `${where}[1]`, s, p)) { ok = false; return ref; }
      const opts = ref[1] as Record<string, unknown>;
      for (const f of ['include', 'exclude'] as const) {
        if (opts[f] !== undefined && patternList()(opts[f], `${where}[1].${f}`, s, p) === undefined) ok = false;
      }
      return Object.freeze([ref[0], deepFreeze({ ...opts })]);
    }
    ok = false;
    p.push(`${keyLabel(where, s)}: found ${show(ref)}, expected a collector name or [name, options]`);
    return ref;
  });
  return ok ? Object.freeze(out) : undefined;
};

const shardCheck: Check = (v, k, s, p) => {
  const expected = '"i/n" or { index: i, count: n } with 1 <= i <= n (e.g. "1/4")';
  let spec: ShardSpec | undefined;
  if (typeof v === 'string') {
    const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(v);
    if (m) spec = { index: Number(m[1]), count: Number(m[2]) };
  } else if (isObject(v) && isInt(v.index) && isInt(v.count) && Object.keys(v).every((x) => x === 'index' || x === 'count')) {
    spec = { index: v.index, count: v.count };
  }
  const ok = spec !== undefined && spec.count >= 1 && spec.index >= 1 && spec.index <= spec.count;
  return expect(ok, expected, v, k, s, p) ? Object.freeze(spec!) : undefined;
};

/** Every config key (they mirror the flags), with its check. */
export const CONFIG_KEYS: Readonly<Record<string, Check>> = Object.freeze({
  model: pathKey('a path to the FP32 .onnx model'),
  data: pathKey('a path to a data directory or list file'),
  preprocess: (v, k, s, p) => (expect((typeof v === 'string' && v.trim() !== '') || isObject(v), 'a preprocessing preset name (string) or an object', v, k, s, p) ? deepFreeze(isObject(v) ? { ...v } : v) : undefined),
  numSamples: int(1, 'an integer > 0'),
  batchSize: int(1, 'an integer > 0'),
  shuffle: bool,
  seed: int(undefined, 'an integer'),
  collectors: collectorsCheck,
  plugins: stringList('module names or paths', 'a module name or path'),
  include: patternList(),
  exclude: patternList(),
  out: pathKey('an output directory'),
  formats: (v, k, s, p) => {
    const expected = `an array of ${OUTPUT_FORMATS.map((f) => `"${f}"`).join(' | ')}`;
    if (!expect(Array.isArray(v), expected, v, k, s, p)) return undefined;
    let ok = true;
    (v as unknown[]).forEach((f, i) => { ok = expect(OUTPUT_FORMATS.includes(f as never), `one of ${OUTPUT_FORMATS.map((x) => `"${x}"`).join(', ')}`, f, `${k}[${i}]`, s, p) && ok; });
    return ok ? Object.freeze([...new Set(v as string[])]) : undefined;
  },
  qdq: bool,
  allTensors: bool,
  quantizeMode: (v, k, s, p) => (expect(v === 'smart' || v === 'full', '"smart" or "full"', v, k, s, p) ? v : undefined),
  evaluate: bool,
  biasCorrection: bool,
  crossLayerEqualization: bool,
  isotone: bool,
  smoothQuant: (v, k, s, p) => {
    if (typeof v === 'boolean') return v;
    const expected = 'true, false, or { "alpha": number in [0, 1], "insertMul": true | false }';
    if (!expect(isObject(v) && Object.keys(v).every((q) => q === 'alpha' || q === 'insertMul'), expected, v, k, s, p)) return undefined;
    const o = v as { alpha?: unknown; insertMul?: unknown };
    let ok = true;
    if (o.alpha !== undefined) ok = expect(typeof o.alpha === 'number' && o.alpha >= 0 && o.alpha <= 1, 'a number in [0, 1]', o.alpha, `${k}.alpha`, s, p) && ok;
    if (o.insertMul !== undefined) ok = expect(typeof o.insertMul === 'boolean', 'true or false', o.insertMul, `${k}.insertMul`, s, p) && ok;
    return ok ? Object.freeze({ ...(o.alpha !== undefined ? { alpha: o.alpha as number } : {}), ...(o.insertMul !== undefined ? { insertMul: o.insertMul as boolean } : {}) }) : undefined;
  },
  foldAffine: bool,
  saturationRanges: bool,
  fuseActivations: bool,
  targetCos: (v, k, s, p) => (expect(typeof v === 'number' && v > 0 && v <= 1, 'a number in (0, 1]', v, k, s, p) ? v : undefined),
  target: (v, k, s, p) => (expect(typeof v === 'number' && Number.isFinite(v), 'a number (the value of targetMetric to reach; higher is better)', v, k, s, p) ? v : undefined),
  targetMetric: (v, k, s, p) => (expect(typeof v === 'string' && v.length > 0, 'a metric name (cosine, sqnr, ctc-char-accuracy) or a metric module path / package', v, k, s, p) ? v : undefined),
  fallbackInt16: bool,
  maxFloatLayers: int(0, 'an integer >= 0'),
  shard: shardCheck,
  force: bool,
  quiet: bool,
  evalData: pathKey('a path to evaluation data'),
  evalSamples: int(1, 'an integer > 0'),
  inputs: (v, k, s, p) => {
    if (!expect(isObject(v), 'an object of input name → value given once (number or nested array) or { batchAxis, value }', v, k, s, p)) return undefined;
    let ok = true;
    for (const [name, x] of Object.entries(v as Record<string, unknown>)) {
      const good = typeof x === 'number' || typeof x === 'boolean' || Array.isArray(x) || (isObject(x) && Object.keys(x).every((q) => q === 'batchAxis' || q === 'value'));
      ok = expect(good, 'a number, a nested array, or { "batchAxis": N | null, "value": ... }', x, `${k}.${name}`, s, p) && ok;
    }
    return ok ? deepFreeze(JSON.parse(JSON.stringify(v)) as object) : undefined;
  },
  sequence: (v, k, s, p) => {
    const expected = '{ "feedback": { "<input>": "<output>" }, "chunk": { "<input>": { "size": N, "context": M } } }';
    if (!expect(isObject(v) && isObject(v.feedback) && Object.keys(v).every((q) => q === 'feedback' || q === 'chunk'), expected, v, k, s, p)) return undefined;
    const o = v as { feedback: Record<string, unknown>; chunk?: unknown };
    let ok = true;
    for (const [inp, out] of Object.entries(o.feedback)) ok = expect(typeof out === 'string' && out !== '', 'an output name', out, `${k}.feedback.${inp}`, s, p) && ok;
    if (o.chunk !== undefined) {
      if (!expect(isObject(o.chunk), 'an object of input name → { size, context }', o.chunk, `${k}.chunk`, s, p)) return undefined;
      for (const [inp, c] of Object.entries(o.chunk as Record<string, unknown>)) {
        const good = isObject(c) && isInt(c.size) && c.size > 0 && (c.context === undefined || (isInt(c.context) && c.context >= 0)) && Object.keys(c).every((q) => q === 'size' || q === 'context');
        ok = expect(good, '{ "size": integer > 0, "context": integer >= 0 }', c, `${k}.chunk.${inp}`, s, p) && ok;
      }
    }
    return ok ? deepFreeze(JSON.parse(JSON.stringify(v)) as object) : undefined;
  },
  limits: (v, k, s, p) => {
    if (!expect(isObject(v), `an object with any of ${Object.keys(DEFAULT_LIMITS).join(', ')}`, v, k, s, p)) return undefined;
    let ok = true;
    const out: Record<string, number> = {};
    for (const [name, x] of Object.entries(v as Record<string, unknown>)) {
      if (!Object.prototype.hasOwnProperty.call(DEFAULT_LIMITS, name)) {
        p.push(`${keyLabel(`${k}.${name}`, s)}: unknown limit; known: ${Object.keys(DEFAULT_LIMITS).join(', ')}`);
        ok = false;
      } else if (expect(Number.isSafeInteger(x) && (x as number) >= 1, 'a positive integer', x, `${k}.${name}`, s, p)) {
        out[name] = x as number;
      } else ok = false;
    }
    return ok ? Object.freeze(out) : undefined;
  },
  hookTimeout: (v, k, s, p) => (expect(typeof v === 'number' && v >= 0 && v <= 7 * 24 * 3600, 'seconds, a number in [0, 604800] (0 = no limit)', v, k, s, p) ? v : undefined),
  report: bool,
  histogramStride: int(0, 'an integer >= 0 (0 = automatic, 1 = every value)'),
  fastSample: int(0, 'an integer >= 0 (values per tensor and batch in fast mode, default 16384; 0 = every value)'),
});

/**
 * Checks every key of `raw` (the contents of one source) and returns the normalized values
 * (paths absolute, arrays and objects frozen) and the problems, each naming the source and key:
 * `<file>: <key>: found <value>, expected <what>` (`--flag: …` for the command line), unknown keys
 * with "did you mean". `undefined` values are ignored (unset flags).
 */
export function checkConfigSource(raw: unknown, src: ConfigSource): { values: Record<string, unknown>; problems: string[] } {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  if (!isObject(raw)) {
    problems.push(`${src.label}: found ${show(raw)}, expected an object of settings such as { "model": "model.onnx", "data": "calib/" }`);
    return { values, problems };
  }
  if (countNodes(raw) > MAX_CONFIG_NODES) {
    problems.push(`${src.label}: expands to more than ${MAX_CONFIG_NODES} values (YAML aliases repeating a large value?); a config is a few dozen settings`);
    return { values, problems };
  }
  if (nestingDepth(raw) > MAX_NESTING) {
    problems.push(`${src.label}: values nested more than ${MAX_NESTING} levels deep; a config is a few dozen settings`);
    return { values, problems };
  }
  const known = Object.keys(CONFIG_KEYS);
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    // Own keys only: `constructor`, `toString` or `__proto__` are unknown keys, not Object.prototype's.
    const check = Object.prototype.hasOwnProperty.call(CONFIG_KEYS, key) ? CONFIG_KEYS[key] : undefined;
    if (!check) {
      const hint = closest(key, known);
      const name = src.isFlags ? flagName(key) : key;
      problems.push(`${src.isFlags ? name : `${src.label}: ${name}`}: unknown ${src.isFlags ? 'option' : 'key'}${hint ? ` (did you mean "${src.isFlags ? flagName(hint) : hint}"?)` : `; known keys: ${known.join(', ')}`}`);
      continue;
    }
    const normalized = check(value, key, src, problems);
    if (normalized !== undefined) values[key] = normalized;
  }
  return { values, problems };
}
