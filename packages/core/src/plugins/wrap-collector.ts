import type { CalibrationCollector, CollectorContext, PostCollectContext, CollectorState } from '../collector';
import { PluginError, messageOf } from '../errors';
import type { TensorRange } from '../tensor';
import type { ResolvedCollector } from './load-collectors';

type Hook = 'create' | 'collect' | 'postCollect' | 'snapshot' | 'merge';

function failure(name: string, hook: Hook, e: unknown, tensor?: string): PluginError {
  const at = tensor === undefined ? hook : `${hook} for tensor "${tensor}"`;
  return new PluginError(name, `collector "${name}" failed in ${at}: ${messageOf(e)}`, { cause: e, duringRun: true });
}

function isPromise(v: unknown): v is Promise<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

function fmt(v: unknown): string {
  return typeof v === 'number' ? String(v) : JSON.stringify(v) ?? String(v);
}

/**
 * Checks postCollect's output: a range for every tensor asked and no other, each with finite
 * numbers `min <= max`. Returns the problems (empty when fine).
 */
export function checkRanges(result: unknown, tensorsAsked: readonly string[]): string[] {
  if (typeof result !== 'object' || result === null || Array.isArray(result)) return [`returned ${fmt(result)} instead of an object { tensorName: { min, max } }`];
  const out = result as Record<string, unknown>;
  const asked = new Set(tensorsAsked);
  const problems: string[] = [];
  const missing = tensorsAsked.filter((t) => !Object.prototype.hasOwnProperty.call(out, t));
  if (missing.length) problems.push(`returned no range for ${missing.length} tensor(s) it was asked to calibrate: ${missing.slice(0, 10).map((t) => `"${t}"`).join(', ')}${missing.length > 10 ? ', …' : ''}`);
  const extra = Object.keys(out).filter((t) => !asked.has(t));
  if (extra.length) problems.push(`returned ranges for ${extra.length} tensor(s) it was not asked to calibrate: ${extra.slice(0, 10).map((t) => `"${t}"`).join(', ')}${extra.length > 10 ? ', …' : ''}`);
  for (const t of tensorsAsked) {
    const r = out[t] as Partial<TensorRange> | undefined;
    if (r === undefined) continue;
    if (typeof r !== 'object' || r === null) { problems.push(`range for tensor "${t}" is ${fmt(r)}, expected { min, max }`); continue; }
    const { min, max } = r;
    if (typeof min !== 'number' || typeof max !== 'number' || !Number.isFinite(min) || !Number.isFinite(max)) {
      problems.push(`range for tensor "${t}" is min ${fmt(min)}, max ${fmt(max)}; expected finite numbers with min <= max`);
    } else if (min > max) {
      problems.push(`range for tensor "${t}" has min ${min} > max ${max}; expected min <= max`);
    }
  }
  return problems;
}

/**
 * Wraps a collector so that any error of a hook is rethrown as
 * `PluginError(name, 'collector "<name>" failed in collect for tensor "<t>": <msg>', { duringRun: true })`
 * (postCollect, snapshot and merge likewise, without the tensor), and postCollect's output is
 * checked with {@link checkRanges}. Sync hooks stay sync (collect is the hot path); optional hooks
 * (snapshot, merge) are present only when the collector has them.
 */
export function wrapCollector(definitionName: string, collector: CalibrationCollector, tensorsAsked: readonly string[]): CalibrationCollector {
  const name = definitionName;
  let asked: readonly string[] = tensorsAsked;
  const checked = (result: unknown): Record<string, TensorRange> => {
    // Tensors the run never computed (an If branch not taken) are not asked for: drop them.
    if (asked !== tensorsAsked && typeof result === 'object' && result !== null) {
      const keep = new Set(asked);
      result = Object.fromEntries(Object.entries(result).filter(([k]) => keep.has(k) || !tensorsAsked.includes(k)));
    }
    const problems = checkRanges(result, asked);
    if (problems.length) {
      throw new PluginError(name, `collector "${name}" failed in postCollect: ${problems.length === 1 ? problems[0] : problems.map((p) => `\n  - ${p}`).join('')}`, { duringRun: true });
    }
    return result as Record<string, TensorRange>;
  };
  const wrapped: CalibrationCollector = {
    collect(tensor, opName, value) {
      let r: void | Promise<void>;
      try {
        r = collector.collect(tensor, opName, value);
      } catch (e) {
        throw failure(name, 'collect', e, tensor);
      }
      if (isPromise(r)) return r.then(undefined, (e: unknown) => { throw failure(name, 'collect', e, tensor); });
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
      if (isPromise(r)) return r.then(checked, (e: unknown) => { throw failure(name, 'postCollect', e); });
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
export function instantiateCollector(resolved: ResolvedCollector, ctx: CollectorContext): CalibrationCollector {
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
  return wrapCollector(name, o as CalibrationCollector, ctx.tensors.map((t) => t.name));
}
