import type { CalibrationCollector, CollectorContext, PostCollectContext, CollectorState } from '../collector';
import { PluginError, messageOf } from '../errors';
import type { TensorRange } from '../tensor';
import type { ResolvedCollector } from './load-collectors';
import { checkPluginRanges } from './plugin-output';
import { tracked, withTimeout } from '../pending-work';

type Hook = 'create' | 'collect' | 'postCollect' | 'snapshot' | 'merge';

function failure(name: string, hook: Hook, e: unknown, tensor?: string): PluginError {
  const at = tensor === undefined ? hook : `${hook} for tensor "${tensor}"`;
  return new PluginError(name, `collector "${name}" failed in ${at}: ${messageOf(e)}`, { cause: e, duringRun: true });
}

function isPromise(v: unknown): v is Promise<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

function fmt(v: unknown): string {
  if (typeof v === 'number') return String(v);
  try { return JSON.stringify(v) ?? String(v); } catch { return Object.prototype.toString.call(v); }
}

/**
 * Checks postCollect's output (see {@link checkPluginRanges}). Returns the problems (empty when fine).
 */
export function checkRanges(result: unknown, tensorsAsked: readonly string[]): string[] {
  return checkPluginRanges(result, tensorsAsked).problems;
}

/** How long one asynchronous hook call may take before it is an error naming the plugin (30 min). */
export const DEFAULT_HOOK_TIMEOUT_MS = 30 * 60 * 1000;

export interface WrapOptions {
  /** Limit for one asynchronous hook call, in ms (default {@link DEFAULT_HOOK_TIMEOUT_MS}; 0 = none). */
  readonly hookTimeoutMs?: number;
}

/**
 * Wraps a collector so that any error of a hook is rethrown as
 * `PluginError(name, 'collector "<name>" failed in collect for tensor "<t>": <msg>', { duringRun: true })`
 * (postCollect, snapshot and merge likewise, without the tensor), and postCollect's output is
 * checked with {@link checkRanges}. Sync hooks stay sync (collect is the hot path); optional hooks
 * (snapshot, merge) are present only when the collector has them.
 */
export function wrapCollector(definitionName: string, collector: CalibrationCollector, tensorsAsked: readonly string[], opts: WrapOptions = {}): CalibrationCollector {
  const name = definitionName;
  const timeoutMs = opts.hookTimeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS;
  let asked: readonly string[] = tensorsAsked;
  const checked = (result: unknown): Record<string, TensorRange> => {
    // Tensors the run never computed (an If branch not taken) are not asked for: ranges for them are dropped.
    const ignore = asked !== tensorsAsked ? new Set(tensorsAsked.filter((t) => !asked.includes(t))) : undefined;
    const { problems, ranges } = checkPluginRanges(result, asked, ignore);
    if (problems.length || !ranges) {
      throw new PluginError(name, `collector "${name}" failed in postCollect: ${problems.length === 1 ? problems[0] : problems.map((p) => `\n  - ${p}`).join('')}`, { duringRun: true });
    }
    return ranges;
  };
  // An asynchronous hook is timed and recorded as pending (a promise that never settles is reported).
  const settle = <T>(hook: Hook, p: Promise<T>, tensor?: string): Promise<T> => tracked(
    { what: `collector "${name}" ${hook}${tensor === undefined ? '' : ` for tensor "${tensor}"`}`, exitCode: 1, code: 'QCAL_PLUGIN' },
    withTimeout(p, timeoutMs, () => new PluginError(name, `collector "${name}" did not finish ${hook}${tensor === undefined ? '' : ` for tensor "${tensor}"`} within ${timeoutMs / 1000} s (hookTimeout; raise it with --hook-timeout SECONDS or "hookTimeout" in the config)`, { duringRun: true })),
  );
  const wrapped: CalibrationCollector = {
    collect(tensor, opName, value) {
      let r: void | Promise<void>;
      try {
        r = collector.collect(tensor, opName, value);
      } catch (e) {
        throw failure(name, 'collect', e, tensor);
      }
      if (isPromise(r)) return settle('collect', Promise.resolve(r), tensor).then(undefined, (e: unknown) => { throw e instanceof PluginError ? e : failure(name, 'collect', e, tensor); });
      return r;
    },
    postCollect(ctx: PostCollectContext) {
      if (ctx.tensors.length < tensorsAsked.length) asked = ctx.tensors.map((t) => t.name);
      let r: ReturnType<CalibrationCollector['postCollect']>;
      try {
        r = collector.postCollect(ctx);
      } catch (e) {
        throw failure(name, 'postCollect', e);
      }
      if (isPromise(r)) return settle('postCollect', Promise.resolve(r)).then(checked, (e: unknown) => { throw e instanceof PluginError ? e : failure(name, 'postCollect', e); });
      return checked(r);
    },
  };
  if (typeof collector.snapshot === 'function') {
    wrapped.snapshot = (): CollectorState => {
      try { return collector.snapshot!(); } catch (e) { throw failure(name, 'snapshot', e); }
    };
  }
  if (typeof collector.merge === 'function') {
    wrapped.merge = (state: CollectorState): void => {
      try { collector.merge!(state); } catch (e) { throw failure(name, 'merge', e); }
    };
  }
  return Object.freeze(wrapped);
}

/**
 * Creates a resolved collector's instance for `ctx.tensors` and wraps it ({@link wrapCollector}).
 * An error in `create`, or a result without `collect`/`postCollect` functions, is a PluginError
 * naming the collector.
 */
export function instantiateCollector(resolved: ResolvedCollector, ctx: CollectorContext, opts: WrapOptions = {}): CalibrationCollector {
  const { name } = resolved;
  let c: unknown;
  try {
    c = resolved.definition.create(resolved.options, ctx);
  } catch (e) {
    throw failure(name, 'create', e);
  }
  const o = c as Partial<CalibrationCollector> | null;
  if (typeof o !== 'object' || o === null || typeof o.collect !== 'function' || typeof o.postCollect !== 'function') {
    throw new PluginError(name, `collector "${name}" failed in create: it returned ${typeof o === 'object' && o !== null ? 'an object without collect and postCollect methods' : fmt(o)}; create(options, ctx) must return { collect(name, opName, tensor), postCollect(ctx) }`, { duringRun: true });
  }
  return wrapCollector(name, o as CalibrationCollector, ctx.tensors.map((t) => t.name), opts);
}
