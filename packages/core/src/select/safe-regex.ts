import * as v8 from 'node:v8';
import { HARD_LIMITS } from '../limits';

let linearAvailable: boolean | undefined;

/**
 * Whether V8's linear-time regular expression engine can be used (the `l` flag, behind
 * `--enable-experimental-regexp-engine`): it runs any pattern without backreferences or
 * lookaround in time linear in the input, so `/^(.+)+X$/` cannot take seconds on a tensor name.
 */
function linearEngine(): boolean {
  if (linearAvailable === undefined) {
    try {
      v8.setFlagsFromString('--enable-experimental-regexp-engine');
      linearAvailable = new RegExp('a', 'l').test('a');
    } catch {
      linearAvailable = false;
    }
  }
  return linearAvailable;
}

/**
 * A quantified group that itself holds an unbounded quantifier (`(a+)+`, `(.*)*`, `(x+y?){2,}`):
 * the shape whose backtracking is exponential. Escapes and character classes are skipped.
 */
export function hasNestedQuantifier(source: string): boolean {
  const stack: boolean[] = [];
  let inner = false; // the current group holds an unbounded quantifier
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') { i++; continue; }
    if (c === '[') {
      for (i++; i < source.length && source[i] !== ']'; i++) if (source[i] === '\\') i++;
      continue;
    }
    if (c === '(') { stack.push(inner); inner = false; continue; }
    const unboundedAt = (j: number): boolean => source[j] === '*' || source[j] === '+' || (source[j] === '{' && /^\{\d*,\}/.test(source.slice(j)));
    if (c === ')') {
      const groupInner = inner;
      inner = stack.pop() ?? false;
      if (groupInner && (unboundedAt(i + 1) || source[i + 1] === '{')) return true;
      if (groupInner) inner = true;
      if (unboundedAt(i + 1)) inner = true;
      continue;
    }
    if (unboundedAt(i)) inner = true;
  }
  return false;
}

/**
 * Compiles a user's regular expression so that matching cannot run away: on V8's linear engine
 * when the pattern allows it; otherwise (backreferences, lookaround) on the usual engine, but only
 * if the pattern has no nested quantifier. Returns the RegExp or the reason it is refused.
 */
export function compileSafeRegex(body: string, flags: string): RegExp | string {
  if (body.length > HARD_LIMITS.maxPatternLength) return `is ${body.length} characters long; a /regex/ pattern is at most ${HARD_LIMITS.maxPatternLength}`;
  let re: RegExp;
  try {
    re = new RegExp(body, flags);
  } catch (e) {
    return `is not a valid regular expression (${e instanceof Error ? e.message : String(e)})`;
  }
  if (linearEngine()) {
    try {
      return new RegExp(body, `${flags}l`);
    } catch {
      // Needs backtracking (backreference, lookaround): allowed only without nested quantifiers.
    }
  }
  if (hasNestedQuantifier(body)) {
    return 'has a nested quantifier (like (a+)+) whose matching can take exponential time; rewrite it without repeating a repeated group';
  }
  return re;
}
