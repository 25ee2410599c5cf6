/**
 * A small declarative schema for collector options: enough to validate every option of every
 * collector before the first inference, report all problems at once, and print `qcal collectors`.
 */
export type OptionSpec =
  | { type: 'number'; description: string; min?: number; max?: number; exclusiveMin?: boolean; exclusiveMax?: boolean }
  | { type: 'integer'; description: string; min?: number; max?: number; oneOf?: readonly number[] }
  | { type: 'boolean'; description: string }
  | { type: 'string'; description: string; enum?: readonly string[] }
  | { type: 'number[]'; description: string; length?: number; min?: number; max?: number }
  /** Free-form JSON value checked by the collector itself (e.g. a wrapped collector's options). */
  | { type: 'any'; description: string };

export type OptionsSchema = Readonly<Record<string, OptionSpec>>;

function checkValue(key: string, spec: OptionSpec, value: unknown): string | undefined {
  const got = JSON.stringify(value);
  switch (spec.type) {
    case 'number':
    case 'integer': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return `${key} must be a finite number, got ${got}`;
      if (spec.type === 'integer' && !Number.isInteger(value)) return `${key} must be an integer, got ${got}`;
      if (spec.type === 'integer' && spec.oneOf && !spec.oneOf.includes(value)) return `${key} must be one of ${spec.oneOf.join(', ')}, got ${got}`;
      if (spec.min !== undefined && (value < spec.min || (spec.type === 'number' && spec.exclusiveMin && value === spec.min)))
        return `${key} must be ${spec.type === 'number' && spec.exclusiveMin ? '>' : '>='} ${spec.min}, got ${got}`;
      if (spec.max !== undefined && (value > spec.max || (spec.type === 'number' && spec.exclusiveMax && value === spec.max)))
        return `${key} must be ${spec.type === 'number' && spec.exclusiveMax ? '<' : '<='} ${spec.max}, got ${got}`;
      return undefined;
    }
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `${key} must be true or false, got ${got}`;
    case 'string':
      if (typeof value !== 'string') return `${key} must be a string, got ${got}`;
      if (spec.enum && !spec.enum.includes(value)) return `${key} must be one of ${spec.enum.map((e) => JSON.stringify(e)).join(', ')}, got ${got}`;
      return undefined;
    case 'number[]':
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'number' && Number.isFinite(v))) return `${key} must be an array of finite numbers, got ${got}`;
      if (spec.length !== undefined && value.length !== spec.length) return `${key} must have ${spec.length} numbers, got ${value.length}`;
      if (spec.min !== undefined && value.some((v) => v < spec.min!)) return `${key} must hold numbers >= ${spec.min}, got ${got}`;
      if (spec.max !== undefined && value.some((v) => v > spec.max!)) return `${key} must hold numbers <= ${spec.max}, got ${got}`;
      return undefined;
    case 'any':
      return undefined;
  }
}

/**
 * Merges `given` over `defaults` and checks every key against `schema`. Returns the frozen options
 * and the list of problems (each prefixed by `where`), so callers can report all of them at once.
 */
export function validateOptions<O extends object>(
  schema: OptionsSchema,
  defaults: O,
  given: unknown,
  where: string,
): { options: Readonly<O>; problems: string[] } {
  const problems: string[] = [];
  // Own keys only, and no prototype: an option named `__proto__` or `constructor` is unknown, never inherited.
  const merged: Record<string, unknown> = Object.assign(Object.create(null) as Record<string, unknown>, defaults);
  if (given !== undefined && given !== null) {
    if (typeof given !== 'object' || Array.isArray(given)) {
      problems.push(`${where}: options must be an object, got ${JSON.stringify(given)}`);
    } else {
      for (const [key, value] of Object.entries(given)) {
        const spec = Object.prototype.hasOwnProperty.call(schema, key) ? schema[key] : undefined;
        if (!spec) {
          const known = Object.keys(schema);
          const hint = closest(key, known);
          problems.push(`${where}: unknown option "${key}"${hint ? ` (did you mean "${hint}"?)` : ''}; known options: ${known.join(', ') || 'none'}`);
          continue;
        }
        merged[key] = value;
      }
    }
  }
  for (const [key, spec] of Object.entries(schema)) {
    if (merged[key] === undefined) continue;
    const p = checkValue(key, spec, merged[key]);
    if (p) problems.push(`${where}: option ${p}`);
  }
  return { options: Object.freeze({ ...merged }) as Readonly<O>, problems };
}

/** Levenshtein distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The candidate closest to `name` if it is close enough to be a plausible typo. */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestD) { bestD = d; best = c; }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}
