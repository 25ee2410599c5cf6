import { PluginError } from '../errors';

/** One problem found while loading plugins, with the plugin it belongs to. */
export interface PluginProblem {
  readonly plugin: string;
  readonly message: string;
}

/**
 * One PluginError for several problems (all of them are reported at once). `PluginError` has no
 * `problems` constructor option, so they are attached after construction as well as listed one
 * per line in the message.
 */
export function pluginError(problems: readonly PluginProblem[], cause?: unknown): PluginError {
  const first = problems[0]!;
  const plugins = [...new Set(problems.map((p) => p.plugin))];
  const message = problems.length === 1 ? first.message : `${problems.length} plugin problems:\n${problems.map((p) => `  - ${p.message}`).join('\n')}`;
  const err = new PluginError(plugins.join(', '), message, cause === undefined ? undefined : { cause });
  Object.defineProperty(err, 'problems', { value: Object.freeze(problems.map((p) => p.message)), enumerable: true });
  return err;
}
