import type { DependencyContainer } from 'tsyringe';
import type { ResolvedConfig } from '../config/resolved-config';
import { PluginError, messageOf } from '../errors';
import type { Logger } from '../logger';
import { silentLogger } from '../logger';
import { COLLECTORS, COLLECTOR_DEFINITION, COLLECTOR_DEFINITIONS, CONFIG, LOGGER } from '../tokens';
import type { LoadedCollectors } from './load-collectors';

/** What a run's container starts with. */
export interface ContainerInit {
  readonly logger?: Logger;
  readonly config?: ResolvedConfig;
  /** The result of loadCollectors (or loadInstalledCollectors). */
  readonly collectors?: LoadedCollectors;
}

/**
 * A child container for one run (or one test): registers LOGGER (silent unless given and not
 * inherited), CONFIG, the collector registry (COLLECTOR_DEFINITIONS, and each definition under
 * COLLECTOR_DEFINITION) and COLLECTORS with `useValue`, then calls each loaded plugin's
 * `register(container)` so a plugin can add or override services. Nothing is registered in the
 * global container. Without `parent`, the child is made from tsyringe's root container — tsyringe
 * is then loaded here, which needs `import "reflect-metadata"` in the entry point first.
 */
export function createContainer(parent?: DependencyContainer, init: ContainerInit = {}): DependencyContainer {
  // Loaded lazily so that importing @qcal/core (as plugins do) never requires the reflect polyfill.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const base = parent ?? (require('tsyringe') as typeof import('tsyringe')).container;
  const c = base.createChildContainer();
  if (init.logger) c.register(LOGGER, { useValue: init.logger });
  else if (!c.isRegistered(LOGGER, true)) c.register(LOGGER, { useValue: silentLogger });
  if (init.config) c.register(CONFIG, { useValue: init.config });
  const loaded = init.collectors;
  if (loaded) {
    for (const { definition } of loaded.registry.values()) c.register(COLLECTOR_DEFINITION, { useValue: definition });
    c.register(COLLECTOR_DEFINITIONS, { useValue: loaded.registry });
    c.register(COLLECTORS, { useValue: loaded.collectors });
    for (const mod of loaded.modules) {
      if (!mod.register) continue;
      try {
        mod.register(c);
      } catch (e) {
        throw new PluginError(mod.spec, `plugin ${mod.spec} failed in register(container): ${messageOf(e)}`, { cause: e });
      }
    }
  }
  return c;
}
