import { COLLECTOR_API_VERSION, type CollectorDefinition, type CollectorContext, type CalibrationCollector } from '../collector';
import { validateOptions, type OptionsSchema } from '../options-schema';
import { isNamespacedName } from './builtin-collectors';

/** Definitions made from a bare class or factory: no schema, so options are passed through unchecked. */
const passThrough = new WeakSet<object>();

/** True for definitions wrapped from a class or factory function (options are not validated). */
export function passesOptionsThrough(definition: CollectorDefinition): boolean {
  return passThrough.has(definition);
}

const SPEC_TYPES = ['number', 'integer', 'boolean', 'string', 'number[]', 'any'];

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** Does the value look like a definition (rather than a class/factory)? */
export function looksLikeDefinition(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && ('create' in v || 'name' in v || 'apiVersion' in v);
}

/** Wraps a collector class (`new C(options, ctx)`) or factory (`f(options, ctx)`) into a definition. */
export function definitionFromFunction(name: string, fn: (...args: never[]) => unknown): CollectorDefinition {
  // Functions with a prototype (classes, ES5 constructors, plain `function`s) are called with `new`:
  // for a plain function that returns an object, `new` yields that object, so both forms work.
  // Arrow and async functions have no prototype and are called directly.
  const create = (options: Readonly<Record<string, unknown>>, ctx: CollectorContext): CalibrationCollector =>
    (fn.prototype ? Reflect.construct(fn, [options, ctx]) : (fn as unknown as (o: unknown, c: unknown) => unknown)(options, ctx)) as CalibrationCollector;
  const def: CollectorDefinition = Object.freeze({ name, apiVersion: COLLECTOR_API_VERSION, optionsSchema: Object.freeze({}), defaultOptions: Object.freeze({}), create });
  passThrough.add(def);
  return def;
}

/**
 * Checks an exported collector definition and returns what the plugin author must fix (empty when
 * fine). `source` names the module in messages; `builtin` allows (and requires) a bare name.
 */
export function checkDefinition(def: unknown, source: string, builtin: boolean): string[] {
  const where = `plugin ${source}`;
  if (typeof def !== 'object' || def === null || Array.isArray(def)) {
    return [`${where}: a collector must be a definition object made with defineCollector({ name, apiVersion, optionsSchema, defaultOptions, create }), got ${describe(def)}`];
  }
  const d = def as Record<string, unknown>;
  const problems: string[] = [];
  const name = d.name;
  const label = typeof name === 'string' && name ? `${where}, collector "${name}"` : where;
  if (typeof name !== 'string' || name.trim() === '') {
    problems.push(`${where}: collector definition has no "name" (found ${describe(name)}); set name: "<scope>/<collector>", e.g. "acme/percentile"`);
  } else if (builtin && isNamespacedName(name)) {
    problems.push(`${label}: built-in collector names are bare words, got "${name}"`);
  } else if (!builtin && !isNamespacedName(name)) {
    problems.push(`${label}: name "${name}" is not namespaced; third-party collectors must be named "<scope>/<name>" (e.g. "acme/${name}" or "@acme/${name}"): bare names are reserved for built-in collectors`);
  }
  const v = d.apiVersion;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    problems.push(`${label}: apiVersion must be set to COLLECTOR_API_VERSION (imported from @qcal/plugin-kit), found ${describe(v)}`);
  } else if (v > COLLECTOR_API_VERSION) {
    problems.push(`${label}: written for collector API version ${v}, but this @qcal/core implements version ${COLLECTOR_API_VERSION}; upgrade @qcal/core or use a release of the plugin for API version ${COLLECTOR_API_VERSION}`);
  }
  if (typeof d.create !== 'function') {
    problems.push(`${label}: create must be a function (options, ctx) => collector, found ${describe(d.create)}`);
  }
  let schemaOk = false;
  const schema = d.optionsSchema;
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    problems.push(`${label}: optionsSchema must be an object mapping each option to { type, description } (use {} when there are no options), found ${describe(schema)}`);
  } else {
    schemaOk = true;
    for (const [key, spec] of Object.entries(schema)) {
      const type = (spec as { type?: unknown } | null)?.type;
      if (typeof spec !== 'object' || spec === null || !SPEC_TYPES.includes(type as string)) {
        problems.push(`${label}: optionsSchema.${key}.type must be one of ${SPEC_TYPES.join(', ')}, found ${describe(type)}`);
        schemaOk = false;
      }
    }
  }
  const defaults = d.defaultOptions;
  if (typeof defaults !== 'object' || defaults === null || Array.isArray(defaults)) {
    problems.push(`${label}: defaultOptions must be an object (use {} when there are no options), found ${describe(defaults)}`);
  } else if (schemaOk) {
    const { problems: p } = validateOptions(schema as OptionsSchema, {}, defaults, 'defaultOptions');
    for (const x of p) problems.push(`${label}: defaultOptions do not satisfy the plugin's own optionsSchema: ${x}`);
  }
  const needs = d.needs;
  if (needs !== undefined) {
    const a = (needs as { activations?: unknown } | null)?.activations;
    if (typeof needs !== 'object' || needs === null || (a !== undefined && a !== 'tensor' && a !== 'range')) {
      problems.push(`${label}: needs must be { activations?: "tensor" | "range", tuning?: boolean }, found ${JSON.stringify(needs)}`);
    }
  }
  return problems;
}
