/**
 * Collector naming convention, and the hints for a name nothing defines.
 *
 * - Built-in collectors have bare names (`entropy`) and live in `@qcal/collector-<name>`.
 * - Third-party collectors are namespaced, `<ns>/<name>` (or `@<ns>/<name>`), and by convention
 *   ship in the package `@<ns>/qcal-collector-<name>`: the namespace is an npm scope, so only its
 *   owner can publish there (no squatting), and the name reads like the built-ins'.
 *   A namespaced collector that no loaded plugin defines is loaded from that package when it is
 *   installed, so listing it in `plugins` is optional.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { closest } from '../options-schema';
import { isNamespacedName } from './builtin-collectors';

/** The package that provides a namespaced collector by convention (`acme/x` → `@acme/qcal-collector-x`); undefined for bare names. */
export function conventionalPackage(name: string): string | undefined {
  if (!isNamespacedName(name)) return undefined;
  const slash = name.indexOf('/');
  // npm package names are lower case, with no further slash.
  const ns = name.slice(name.startsWith('@') ? 1 : 0, slash).toLowerCase();
  const rest = name.slice(slash + 1).toLowerCase();
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(ns) || !/^[a-z0-9][a-z0-9._-]*$/.test(rest)) return undefined;
  return `@${ns}/qcal-collector-${rest}`;
}

/** Names other calibration tools use for what a built-in collector does. */
const SYNONYMS: Readonly<Record<string, string>> = Object.freeze({
  kl: 'entropy', kld: 'entropy', 'kl-divergence': 'entropy', kl_divergence: 'entropy', tensorrt: 'entropy', trt: 'entropy',
  max: 'minmax', 'min-max': 'minmax', min_max: 'minmax', naive: 'minmax', absmax: 'minmax', 'abs-max': 'minmax',
  'auto-tune': 'autotune', auto_tune: 'autotune', tune: 'autotune',
});

/**
 * The installed collector a mistyped or foreign name most likely means: a synonym (`kl` →
 * `entropy`) when that collector is installed, else the closest name by edit distance when it is
 * close enough to be a typo; undefined otherwise.
 */
export function suggestCollector(name: string, installed: readonly string[]): string | undefined {
  const synonym = SYNONYMS[name.toLowerCase()];
  if (synonym !== undefined && installed.includes(synonym)) return synonym;
  return closest(name, installed);
}

/** The collector a conventionally named package provides (`@acme/qcal-collector-x` → `acme/x`); undefined otherwise. */
export function conventionalCollector(pkg: string): string | undefined {
  const m = /^@([^/]+)\/qcal-collector-(.+)$/.exec(pkg);
  return m ? `${m[1]}/${m[2]}` : undefined;
}

/**
 * The conventionally named collector packages (`@<ns>/qcal-collector-<name>`) installed in the
 * node_modules of the given folders, sorted; for `qcal collectors` and "did you mean".
 */
export function installedConventionalPackages(dirs: readonly string[]): string[] {
  const found = new Set<string>();
  for (const dir of new Set(dirs.map((d) => path.resolve(d, 'node_modules')))) {
    let scopes: string[];
    try { scopes = fs.readdirSync(dir).filter((s) => s.startsWith('@')); } catch { continue; }
    for (const scope of scopes) {
      let names: string[];
      try { names = fs.readdirSync(path.join(dir, scope)); } catch { continue; }
      for (const n of names) if (n.startsWith('qcal-collector-')) found.add(`${scope}/${n}`);
    }
  }
  return [...found].sort();
}
