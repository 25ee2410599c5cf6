import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError, closest } from '@qcal/core';

export type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

/** The parsed values of a flag spec: strings or booleans, arrays for `multiple`. */
export type FlagValues<T extends OptionSpecs> = {
  [K in keyof T]?: T[K] extends { type: 'boolean' }
    ? T[K] extends { multiple: true } ? boolean[] : boolean
    : T[K] extends { multiple: true } ? string[] : string;
};

/**
 * Strict flag parsing (node:util parseArgs) with usage errors a user can act on: an unknown flag
 * gets "did you mean" and the command's help hint.
 */
export function parseFlags<T extends OptionSpecs>(command: string, argv: readonly string[], options: T, allowPositionals = false): { values: FlagValues<T>; positionals: string[] } {
  try {
    const r = parseArgs({ args: [...argv], options, allowPositionals, strict: true });
    return { values: r.values as FlagValues<T>, positionals: r.positionals };
  } catch (err) {
    const msg = (err as Error).message;
    const m = /Unknown option '(--?[^']+)'/.exec(msg);
    if (m) {
      const flag = m[1]!.replace(/^-+/, '');
      const hint = closest(flag, Object.keys(options));
      throw new UsageError(`qcal ${command}: unknown option ${m[1]}${hint ? ` (did you mean --${hint}?)` : ''}; see 'qcal ${command} --help'`);
    }
    throw new UsageError(`qcal ${command}: ${msg}; see 'qcal ${command} --help'`);
  }
}

/** Parses a number flag; `what` names it in errors. */
export function numberFlag(value: string | undefined, flag: string, opts: { integer?: boolean; min?: number; max?: number } = {}): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  const ok = value.trim() !== '' && Number.isFinite(n) && (!opts.integer || Number.isInteger(n)) && (opts.min === undefined || n >= opts.min) && (opts.max === undefined || n <= opts.max);
  if (!ok) {
    const kind = opts.integer ? 'an integer' : 'a number';
    const bounds = opts.min !== undefined && opts.max !== undefined ? ` in [${opts.min}, ${opts.max}]` : opts.min !== undefined ? ` >= ${opts.min}` : '';
    throw new UsageError(`--${flag} expects ${kind}${bounds}, got "${value}"`);
  }
  return n;
}
