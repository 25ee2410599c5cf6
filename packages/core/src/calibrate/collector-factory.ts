import type { CalibrationCollector, TensorInfo } from '../collector';
import type { Logger } from '../logger';
import type { CollectorRegistry } from '../plugins';
import { instantiateCollector, isBuiltinCollectorName, loadCollectors } from '../plugins';
import { validateOptions } from '../options-schema';
import { PluginError } from '../errors';

/**
 * `ctx.createCollector` for collector `owner` (a wrapping collector such as autotune creates its
 * base with it): the base's options are validated against its schema, its instance wrapped, for
 * the same `tensors`. Used on the main thread and in collect workers alike.
 */
export function collectorFactory(registry: CollectorRegistry, owner: string, tensors: readonly TensorInfo[], logger: Logger, cwd: string, hookTimeoutMs?: number) {
  return (name: string, options?: Readonly<Record<string, unknown>>): CalibrationCollector => {
    // A built-in base (autotune's default `entropy`) need not be listed in the run's collectors.
    const reg = registry.get(name) ?? (isBuiltinCollectorName(name) ? loadCollectors([name], { configDir: cwd, cwd }).registry.get(name) : undefined);
    if (!reg) throw new PluginError(owner, `collector "${owner}" asked for a base collector "${name}" that is not installed; installed: ${[...registry.keys()].join(', ')}`);
    const { options: validated, problems } = validateOptions(reg.definition.optionsSchema, reg.definition.defaultOptions as object, options, `collector "${name}" (base of "${owner}")`);
    if (problems.length) throw new PluginError(owner, problems.join('; '));
    return instantiateCollector({ name, definition: reg.definition, options: validated as Record<string, unknown>, source: reg.source }, { tensors, logger }, { ...(hookTimeoutMs !== undefined ? { hookTimeoutMs } : {}) });
  };
}
