import * as path from 'node:path';
import type { CollectorDefinition } from '../collector';
import { validateOptions } from '../options-schema';
import { configError } from '../select/compile-patterns';
import { BUILTIN_COLLECTORS, isBuiltinCollectorName } from './builtin-collectors';
import { conventionalCollector, conventionalPackage, installedConventionalPackages, suggestCollector } from './collector-names';
import { loadPluginModule, type PluginModule } from './load-plugin-module';
import { passesOptionsThrough } from './normalize-definition';
import { pluginError, type PluginProblem } from './plugin-errors';
import { isPathSpecifier, notFoundMessage, tryResolvePlugin, type PluginSearch } from './resolve-plugin';
import type { QcalError } from '../errors';

/** A collector as written in config: `"entropy"` or `["entropy", { numBins: 2048, exclude: [...] }]`. */
export type CollectorRef = string | readonly [string] | readonly [string, Readonly<Record<string, unknown>> | undefined];

/** A definition in the registry, with the module it came from. */
export interface RegisteredCollector {
  readonly definition: CollectorDefinition;
  /** The plugin module specifier (`@qcal/collector-minmax`, `./my.js`). */
  readonly source: string;
  readonly builtin: boolean;
}

/** Every collector known to a run, by name. */
export type CollectorRegistry = ReadonlyMap<string, RegisteredCollector>;

/** One collector instance of the run: definition, validated frozen options and its own tensor filter. */
export interface ResolvedCollector {
  /** The definition's name (the table is written under it). */
  readonly name: string;
  readonly definition: CollectorDefinition;
  /** Defaults merged with the given options, validated and frozen; without include/exclude. */
  readonly options: Readonly<Record<string, unknown>>;
  /** Per-collector filter, applied after the run-wide one. */
  readonly include?: readonly string[];
  readonly exclude?: readonly string[];
  /** The plugin module it came from. */
  readonly source: string;
}

export interface LoadCollectorsOptions extends PluginSearch {
  /** Plugin modules (config `plugins`), loaded before the collectors are looked up. */
  readonly plugins?: readonly string[];
}

export interface LoadedCollectors {
  readonly collectors: readonly ResolvedCollector[];
  readonly registry: CollectorRegistry;
  /** Every module loaded (built-ins included), for their `register(container)` hooks. */
  readonly modules: readonly PluginModule[];
}

/** Options keys that belong to the framework, not the collector. */
const FILTER_KEYS = ['include', 'exclude'] as const;

class Loader {
  readonly cache = new Map<string, PluginModule>();
  readonly registry = new Map<string, RegisteredCollector>();
  readonly modules: PluginModule[] = [];
  readonly problems: PluginProblem[] = [];
  /** Modules that failed to load: a collector they would define is then unknown for that reason. */
  readonly failed: string[] = [];
  constructor(readonly search: PluginSearch) {}

  /** Loads a module and registers its definitions; records problems instead of throwing. */
  load(spec: string, builtin: boolean): PluginModule | undefined {
    let mod: PluginModule;
    try {
      mod = loadPluginModule(spec, this.search, { builtin, cache: this.cache });
    } catch (e) {
      this.failed.push(spec);
      const problems = (e as QcalError).problems;
      const plugin = (e as { plugin?: string }).plugin ?? spec;
      if (problems?.length) problems.forEach((message) => this.problems.push({ plugin, message }));
      else this.problems.push({ plugin, message: (e as Error).message });
      return undefined;
    }
    if (this.modules.includes(mod)) return mod;
    this.modules.push(mod);
    for (const definition of mod.definitions) {
      const prior = this.registry.get(definition.name);
      if (prior && prior.definition !== definition) {
        this.problems.push({ plugin: spec, message: `collector "${definition.name}" is defined twice: by ${prior.source} and by ${spec}; remove one of them from "plugins"` });
        continue;
      }
      this.registry.set(definition.name, { definition, source: spec, builtin });
    }
    return mod;
  }

  /**
   * Why `name` is unknown and what to do: the installed collector it most likely means, or for a
   * namespaced name the package that provides it by convention. Never `npm install <bare word>`
   * (bare names are built-ins) nor the namespace alone as a package.
   */
  unknownMessage(name: string, conventional: string | undefined): string {
    const installed = `installed collectors: ${this.installedNames().join(', ')}`;
    const hint = suggestCollector(name, this.installedNames());
    if (hint) return `unknown collector "${name}" (did you mean "${hint}"?); ${installed}`;
    if (isPathSpecifier(name)) return notFoundMessage(name, this.search, 'collector');
    const failed = this.failed.length ? `${this.failed.map((f) => `"${f}"`).join(', ')} failed to load (see above)` : '';
    const dir = path.resolve(this.search.configDir);
    if (conventional !== undefined) {
      const cause = failed ? `no loaded plugin defines it (${failed})` : 'no loaded plugin defines it';
      return `unknown collector "${name}": ${cause}, and its package by the naming convention, "${conventional}", is not installed; install it with \`npm install ${conventional}\` in ${dir}, or add the module that defines "${name}" to "plugins"; ${installed}`;
    }
    return `unknown collector "${name}": bare names are the built-in collectors, and third-party collectors are namespaced ("<ns>/<name>", from the package "@<ns>/qcal-collector-<name>"); ${installed}`;
  }

  /** Loaded collectors, the built-ins, and the collectors of conventionally named packages installed here. */
  installedNames(): string[] {
    const conventional = installedConventionalPackages([this.search.configDir, this.search.cwd]).map(conventionalCollector).filter((n): n is string => n !== undefined);
    return [...new Set([...this.registry.keys(), ...Object.keys(BUILTIN_COLLECTORS), ...conventional])];
  }

  /** Finds the definition for a collector name: loaded plugins, built-ins, then the name as a module. */
  find(name: string): RegisteredCollector | undefined {
    const known = this.registry.get(name);
    if (known) return known;
    if (isBuiltinCollectorName(name)) {
      const pkg = BUILTIN_COLLECTORS[name]!;
      const mod = this.load(pkg, true);
      if (!mod) return undefined;
      const hit = this.registry.get(name);
      if (!hit) this.problems.push({ plugin: pkg, message: `plugin ${pkg}: does not export the built-in collector "${name}" (it exports ${mod.definitions.map((d) => `"${d.name}"`).join(', ') || 'none'})` });
      return hit;
    }
    // A namespaced collector no loaded plugin defines: its package by the naming convention, if installed.
    const conventional = conventionalPackage(name);
    if (conventional !== undefined && tryResolvePlugin(conventional, this.search) !== undefined) {
      const mod = this.load(conventional, false);
      if (!mod) return undefined;
      const hit = this.registry.get(name);
      if (!hit) this.problems.push({ plugin: conventional, message: `plugin ${conventional} (the package for collector "${name}" by the naming convention) does not define "${name}"; it defines ${mod.definitions.map((d) => `"${d.name}"`).join(', ') || 'nothing'}` });
      return hit;
    }
    if (tryResolvePlugin(name, this.search) === undefined) {
      this.problems.push({ plugin: name, message: this.unknownMessage(name, conventional) });
      return undefined;
    }
    // A collector given as a module (package or path): it must define exactly one collector.
    const mod = this.load(name, false);
    if (!mod) return undefined;
    const own = mod.definitions.find((d) => d.name === name) ?? (mod.definitions.length === 1 ? mod.definitions[0] : undefined);
    if (!own) {
      this.problems.push({ plugin: name, message: `plugin ${name} defines ${mod.definitions.length} collectors (${mod.definitions.map((d) => `"${d.name}"`).join(', ')}); add "${name}" to "plugins" and name the collector you want in "collectors"` });
      return undefined;
    }
    return this.registry.get(own.name);
  }
}

function parseRef(ref: unknown, i: number): { name: string; given: unknown } | string {
  const where = `collectors[${i}]`;
  if (typeof ref === 'string' && ref.trim() !== '') return { name: ref, given: undefined };
  if (Array.isArray(ref) && ref.length >= 1 && ref.length <= 2 && typeof ref[0] === 'string' && ref[0].trim() !== '') return { name: ref[0], given: ref[1] };
  return `${where}: found ${JSON.stringify(ref)}, expected a collector name or [name, options]`;
}

/**
 * Loads the plugins, then resolves every collector reference to its definition and validates its
 * options — all before the first inference. Built-in names (`minmax`, `entropy`, `ifmr`, `hfmg`,
 * `autotune`) load `@qcal/collector-<name>` through the same path as third-party modules; other
 * names must be defined by a loaded plugin, or be a package/path defining one collector.
 *
 * Throws one PluginError listing every plugin problem (module not found → the package to install;
 * malformed export → what the author must fix; unknown name → "did you mean"), or else one
 * ConfigError listing every option problem of every collector. `include`/`exclude` in a
 * collector's options are split off into {@link ResolvedCollector.include}/`exclude`.
 */
export function loadCollectors(refs: readonly CollectorRef[], opts: LoadCollectorsOptions): LoadedCollectors {
  const loader = new Loader(opts);
  for (const spec of opts.plugins ?? []) loader.load(spec, false);
  const configProblems: string[] = [];
  const found: { name: string; given: unknown; reg: RegisteredCollector }[] = [];
  refs.forEach((ref, i) => {
    const parsed = parseRef(ref, i);
    if (typeof parsed === 'string') { configProblems.push(parsed); return; }
    const reg = loader.find(parsed.name);
    if (reg) found.push({ ...parsed, reg });
  });
  if (loader.problems.length) throw pluginError(loader.problems);

  const collectors: ResolvedCollector[] = [];
  const names = new Set<string>();
  for (const { given, reg } of found) {
    const { definition } = reg;
    const where = `collector "${definition.name}"`;
    if (names.has(definition.name)) configProblems.push(`${where} is listed twice in "collectors"; its tables would overwrite each other`);
    names.add(definition.name);
    let rest: unknown = given;
    const filter: { include?: readonly string[]; exclude?: readonly string[] } = {};
    if (given !== null && typeof given === 'object' && !Array.isArray(given)) {
      const copy: Record<string, unknown> = { ...(given as Record<string, unknown>) };
      for (const key of FILTER_KEYS) {
        if (!(key in copy)) continue;
        const v = copy[key];
        delete copy[key];
        if (Array.isArray(v) && v.every((p) => typeof p === 'string')) filter[key] = Object.freeze([...v]);
        else configProblems.push(`${where}: option ${key} must be an array of patterns (strings), got ${JSON.stringify(v)}`);
      }
      rest = copy;
    }
    let options: Readonly<Record<string, unknown>>;
    if (passesOptionsThrough(definition)) {
      if (rest !== undefined && rest !== null && (typeof rest !== 'object' || Array.isArray(rest))) configProblems.push(`${where}: options must be an object, got ${JSON.stringify(rest)}`);
      options = Object.freeze({ ...((rest as object | undefined) ?? {}) });
    } else {
      const v = validateOptions(definition.optionsSchema, definition.defaultOptions as Record<string, unknown>, rest, where);
      configProblems.push(...v.problems);
      options = v.options;
    }
    collectors.push(Object.freeze({ name: definition.name, definition, options, ...filter, source: reg.source }));
  }
  if (configProblems.length) throw configError(configProblems);
  return Object.freeze({ collectors: Object.freeze(collectors), registry: loader.registry, modules: Object.freeze([...loader.modules]) });
}

/**
 * Every collector that can be used here (`qcal collectors`): the built-ins that are installed, the
 * given plugins and the conventionally named collector packages (`@<ns>/qcal-collector-<name>`)
 * installed in the config folder or the working directory. Built-ins that are not installed are
 * skipped; plugin problems throw.
 */
export function loadInstalledCollectors(opts: LoadCollectorsOptions): LoadedCollectors {
  const loader = new Loader(opts);
  for (const pkg of Object.values(BUILTIN_COLLECTORS)) {
    if (tryResolvePlugin(pkg, opts) !== undefined) loader.load(pkg, true);
  }
  for (const spec of opts.plugins ?? []) loader.load(spec, false);
  // Collector packages named by the convention need no "plugins" entry: list them too.
  for (const pkg of installedConventionalPackages([opts.configDir, opts.cwd])) {
    if (!(opts.plugins ?? []).includes(pkg)) loader.load(pkg, false);
  }
  if (loader.problems.length) throw pluginError(loader.problems);
  return Object.freeze({ collectors: Object.freeze([]), registry: loader.registry, modules: Object.freeze([...loader.modules]) });
}
