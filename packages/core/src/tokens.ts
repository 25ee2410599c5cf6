/**
 * Typed DI tokens (tsyringe). Services take their dependencies with `@inject(TOKEN)`; only the
 * composition root (CLI, createCalibrator) resolves. A token is a Symbol that carries the type it
 * resolves to, so `resolveToken(container, LOGGER)` is a `Logger` without a cast.
 */
import type { DependencyContainer } from 'tsyringe';
import type { CollectorDefinition } from './collector';
import type { Logger } from './logger';
import type { ResolvedConfig } from './config/resolved-config';
import type { CollectorRegistry, ResolvedCollector } from './plugins/load-collectors';

/** A Symbol token typed with what it resolves to. */
export type Token<T> = symbol & { readonly __qcalTokenType?: T };

/** The run's Logger. */
export const LOGGER = Symbol('qcal.Logger') as Token<Logger>;
/** The run's frozen ResolvedConfig. */
export const CONFIG = Symbol('qcal.Config') as Token<ResolvedConfig>;
/** The registry: every collector definition known to the run, by name. */
export const COLLECTOR_DEFINITIONS = Symbol('qcal.CollectorDefinitions') as Token<CollectorRegistry>;
/** Each definition, registered once per definition (`container.resolveAll(COLLECTOR_DEFINITION)`). */
export const COLLECTOR_DEFINITION = Symbol('qcal.CollectorDefinition') as Token<CollectorDefinition>;
/** The collector instances of the run, with validated options (config `collectors`). */
export const COLLECTORS = Symbol('qcal.Collectors') as Token<readonly ResolvedCollector[]>;

/** `container.resolve(token)`, typed by the token. */
export function resolveToken<T>(container: DependencyContainer, token: Token<T>): T {
  return container.resolve<T>(token);
}
