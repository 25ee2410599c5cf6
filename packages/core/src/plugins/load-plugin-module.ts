import type { DependencyContainer } from 'tsyringe';
import type { CollectorDefinition } from '../collector';
import { messageOf } from '../errors';
import { checkDefinition, definitionFromFunction, looksLikeDefinition } from './normalize-definition';
import { pluginError, type PluginProblem } from './plugin-errors';
import { notFoundMessage, tryResolvePlugin, type PluginSearch } from './resolve-plugin';
import { providePluginKit } from './provide-plugin-kit';

/** A loaded, shape-checked plugin module. */
export interface PluginModule {
  /** The specifier as written (`@qcal/collector-minmax`, `./my-collector.js`). */
  readonly spec: string;
  /** The resolved file. */
  readonly path: string;
  /** Loaded as a built-in collector package (bare names allowed). */
  readonly builtin: boolean;
  /** Checked, frozen definitions, in export order. */
  readonly definitions: readonly CollectorDefinition[];
  /** The plugin's optional `register(container)` hook (called by `createContainer`). */
  readonly register?: (container: DependencyContainer) => void;
}

type Exports = Record<string, unknown>;

/** Reads the definitions a module exports (see {@link loadPluginModule}); pushes author-facing problems. */
function extract(mod: unknown, spec: string, builtin: boolean, problems: PluginProblem[]): { definitions: CollectorDefinition[]; register?: PluginModule['register'] } {
  const add = (message: string) => problems.push({ plugin: spec, message });
  if ((typeof mod !== 'object' && typeof mod !== 'function') || mod === null) {
    add(`plugin ${spec}: exports ${JSON.stringify(mod)}; export { collectors: [definition] } or a default definition made with defineCollector`);
    return { definitions: [] };
  }
  let m = mod as Exports;
  // ESM import of a CommonJS module (or a bundler's interop) can nest the exports under `default`.
  const inner = m.default as Exports | undefined;
  if (!('collectors' in m) && !('register' in m) && inner && typeof inner === 'object' && ('collectors' in inner || 'register' in inner)) m = inner;

  const candidates: unknown[] = [];
  if (looksLikeDefinition(m) && !('collectors' in m)) candidates.push(m); // module.exports = definition
  if (m.default !== undefined && m !== inner) {
    if (looksLikeDefinition(m.default)) candidates.push(m.default);
    else if (typeof m.default === 'function') add(`plugin ${spec}: the default export is a function; export a definition made with defineCollector, or export the class/factory by name: { collectors: { "acme/name": ${(m.default as { name?: string }).name || 'Collector'} } }`);
  }
  const list = m.collectors;
  if (Array.isArray(list)) {
    list.forEach((item, i) => {
      if (typeof item === 'function') add(`plugin ${spec}: collectors[${i}] is a function without a name; export collectors as an object { "acme/name": ${(item as { name?: string }).name || 'Collector'} } or wrap it with defineCollector`);
      else candidates.push(item);
    });
  } else if (typeof list === 'object' && list !== null) {
    for (const [key, value] of Object.entries(list)) {
      if (typeof value === 'function') {
        candidates.push(definitionFromFunction(key, value as (...args: never[]) => unknown));
      } else {
        const name = (value as { name?: unknown } | null)?.name;
        if (looksLikeDefinition(value) && name !== undefined && name !== key) add(`plugin ${spec}: collectors["${key}"] is a definition named "${String(name)}"; use the same name for the key and the definition`);
        else candidates.push(looksLikeDefinition(value) && name === undefined ? { ...(value as object), name: key } : value);
      }
    }
  } else if (list !== undefined) {
    add(`plugin ${spec}: "collectors" must be an array of definitions or an object { name: definition | class | factory }, found ${typeof list}`);
  }
  let register: PluginModule['register'];
  if (m.register !== undefined) {
    if (typeof m.register === 'function') register = m.register as PluginModule['register'];
    else add(`plugin ${spec}: "register" must be a function (container) => void, found ${typeof m.register}`);
  }
  if (!candidates.length && !register && !Array.isArray(list) && !problems.some((p) => p.plugin === spec)) {
    add(`plugin ${spec}: exports no collector; export { collectors: [definition] } or a default definition made with defineCollector (found exports: ${Object.keys(m).join(', ') || 'none'})`);
  }

  const definitions: CollectorDefinition[] = [];
  const seen = new Set<unknown>();
  for (const c of candidates) {
    if (seen.has(c)) continue; // `collectors: [def]` plus `export default def`
    seen.add(c);
    const p = checkDefinition(c, spec, builtin);
    if (p.length) { p.forEach(add); continue; }
    const def = c as CollectorDefinition;
    if (definitions.some((d) => d.name === def.name)) { add(`plugin ${spec}: exports two different collectors named "${def.name}"`); continue; }
    definitions.push(Object.isFrozen(def) ? def : Object.freeze({ ...def }));
  }
  return { definitions, register };
}

/**
 * qcal supplies @qcal/plugin-kit to CommonJS plugins wherever they are (see providePluginKit), but an
 * ES module resolves its `import`s itself: say how to make the kit reachable.
 */
function kitHint(e: unknown): string {
  const code = (e as { code?: string }).code;
  if (code !== 'ERR_MODULE_NOT_FOUND' || !messageOf(e).includes("'@qcal/plugin-kit'")) return '';
  return '\n    (an ES-module plugin resolves its imports itself: install it into the project with `npm install --install-links <plugin folder>`, or write it as CommonJS)';
}

/**
 * Resolves (config folder, then cwd — see {@link tryResolvePlugin}), requires and shape-checks one
 * plugin module. A plugin exports `collectors` (an array of definitions, or an object mapping
 * names to definitions, classes `new C(options, ctx)` or factories `(options, ctx) => collector`),
 * and/or a default definition, and may export `register(container)`. Throws one PluginError
 * listing everything the plugin author must fix.
 */
export function loadPluginModule(spec: string, search: PluginSearch, opts: { builtin?: boolean; cache?: Map<string, PluginModule> } = {}): PluginModule {
  const builtin = opts.builtin ?? false;
  const resolved = tryResolvePlugin(spec, search);
  if (resolved === undefined) throw pluginError([{ plugin: spec, message: notFoundMessage(spec, search) }]);
  const cached = opts.cache?.get(resolved);
  if (cached) return cached;
  providePluginKit();
  let mod: unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- plugins are loaded at run time by path
    mod = require(resolved);
  } catch (e) {
    throw pluginError([{ plugin: spec, message: `plugin ${spec} (${resolved}) failed to load: ${messageOf(e)}${kitHint(e)}` }], e);
  }
  const problems: PluginProblem[] = [];
  const { definitions, register } = extract(mod, spec, builtin, problems);
  if (problems.length) throw pluginError(problems);
  const loaded: PluginModule = Object.freeze({ spec, path: resolved, builtin, definitions: Object.freeze(definitions), ...(register ? { register } : {}) });
  opts.cache?.set(resolved, loaded);
  return loaded;
}
