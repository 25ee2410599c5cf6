import * as path from 'node:path';
import { PluginError } from '../errors';

/** Where plugin modules are looked up: the config file's folder first, then the working directory. */
export interface PluginSearch {
  /** Folder of the config file (the working directory when there is none). */
  readonly configDir: string;
  readonly cwd: string;
}

/** A relative or absolute file path rather than a package name. */
export function isPathSpecifier(spec: string): boolean {
  return spec.startsWith('./') || spec.startsWith('../') || spec === '.' || spec === '..' || path.isAbsolute(spec) || /\.(c|m)?js$/.test(spec);
}

/** The npm package a specifier belongs to (`@acme/x/sub` → `@acme/x`), or undefined for a path. */
export function packageNameOf(spec: string): string | undefined {
  if (isPathSpecifier(spec)) return undefined;
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * Resolves a plugin module with `require.resolve`, from `configDir`, then `cwd`, then (so that
 * the built-in collectors installed beside @qcal/core are found) from core itself. Returns
 * undefined when it cannot be found; other resolution errors are rethrown as PluginError.
 */
export function tryResolvePlugin(spec: string, search: PluginSearch): string | undefined {
  const paths = [...new Set([path.resolve(search.configDir), path.resolve(search.cwd)])];
  const attempts: (() => string)[] = [...paths.map((p) => () => require.resolve(spec, { paths: [p] }))];
  if (!isPathSpecifier(spec)) attempts.push(() => require.resolve(spec));
  for (const attempt of attempts) {
    try {
      return attempt();
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code !== 'MODULE_NOT_FOUND' && code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') {
        throw new PluginError(spec, `cannot resolve plugin "${spec}": ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      }
    }
  }
  return undefined;
}

/** The message for a module that cannot be found: the file looked for, or the package to install. */
export function notFoundMessage(spec: string, search: PluginSearch, what = 'plugin'): string {
  const pkg = packageNameOf(spec);
  if (pkg === undefined) {
    return `cannot find ${what} module "${spec}" (looked for ${path.resolve(search.configDir, spec)}${path.resolve(search.configDir) !== path.resolve(search.cwd) ? ` and ${path.resolve(search.cwd, spec)}` : ''})`;
  }
  return `cannot find ${what} package "${pkg}": install it with \`npm install ${pkg}\` in ${path.resolve(search.configDir)}`;
}

/** Resolves or throws PluginError naming the file, or the package to install. */
export function resolvePlugin(spec: string, search: PluginSearch): string {
  const resolved = tryResolvePlugin(spec, search);
  if (resolved === undefined) throw new PluginError(spec, notFoundMessage(spec, search));
  return resolved;
}
