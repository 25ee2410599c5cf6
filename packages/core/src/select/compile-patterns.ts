import type { TensorInfo } from '../collector';
import { ConfigError } from '../errors';
import { compileSafeRegex } from './safe-regex';

/**
 * One include/exclude pattern, compiled. The four forms (see {@link compilePatterns}):
 * - `exact`: no glob metacharacter — equals the tensor name or the producing node's name;
 * - `glob`: `*`, `**` (any run of characters, `/` included), `?` (one character), `[abc]`;
 *   anchored, case-sensitive, tried against the tensor name and the node name;
 * - `regex`: `/body/flags`, unanchored (JavaScript `RegExp.test`), tried against both names;
 * - `op`: `op:Conv` — the producing node's op type, exactly (`op:Input` selects graph inputs).
 */
export interface CompiledPattern {
  /** The pattern as written. */
  readonly source: string;
  readonly kind: 'exact' | 'glob' | 'regex' | 'op';
  /** Does the pattern select this tensor? */
  test(tensor: TensorInfo): boolean;
}

const GLOB_CHARS = /[*?[]/;

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      // `*` and `**` are the same here: ONNX tensor names are paths ("/backbone/conv1/Conv_output_0")
      // and a `*` that stopped at `/` would make `*conv*` match almost nothing.
      while (glob[i + 1] === '*') i++;
      re += '.*';
    } else if (c === '?') {
      re += '.';
    } else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) { re += '\\['; continue; }
      let body = glob.slice(i + 1, end);
      if (body.startsWith('!')) body = `^${body.slice(1)}`;
      re += `[${body.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else {
      re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`, 's');
}

function compileOne(pattern: unknown, label: string): CompiledPattern | string {
  if (typeof pattern !== 'string') return `${label}: found ${JSON.stringify(pattern) ?? String(pattern)}, expected a string (tensor name, glob, /regex/ or op:Type)`;
  if (pattern.trim() === '') return `${label}: found an empty pattern, expected a tensor name, glob, /regex/ or op:Type`;
  if (pattern.startsWith('op:')) {
    const op = pattern.slice(3).trim();
    if (!op) return `${label}: "${pattern}" names no op type, expected e.g. "op:Conv"`;
    return { source: pattern, kind: 'op', test: (t) => t.opType === op };
  }
  const m = /^\/(.+)\/([a-z]*)$/s.exec(pattern);
  if (m) {
    // `g` and `y` make RegExp.test stateful (lastIndex): drop them. Matching time is bounded (compileSafeRegex).
    const re = compileSafeRegex(m[1]!, m[2]!.replace(/[gyl]/g, ''));
    if (typeof re === 'string') return `${label}: "${pattern.length > 80 ? `${pattern.slice(0, 77)}...` : pattern}" ${re}`;
    return { source: pattern, kind: 'regex', test: (t) => re.test(t.name) || (t.opName !== '' && re.test(t.opName)) };
  }
  if (GLOB_CHARS.test(pattern)) {
    const re = globToRegExp(pattern);
    return { source: pattern, kind: 'glob', test: (t) => re.test(t.name) || (t.opName !== '' && re.test(t.opName)) };
  }
  return { source: pattern, kind: 'exact', test: (t) => t.name === pattern || (t.opName !== '' && t.opName === pattern) };
}

/**
 * Compiles include/exclude patterns. `where` names their place in messages (e.g.
 * `"/p/qcal.config.json: exclude"`). Throws one {@link ConfigError} listing every malformed pattern
 * (not a string, empty, bad regex), with `problems` holding one entry per pattern.
 */
export function compilePatterns(patterns: readonly unknown[], where: string): CompiledPattern[] {
  const out: CompiledPattern[] = [];
  const problems: string[] = [];
  patterns.forEach((p, i) => {
    const c = compileOne(p, `${where}[${i}]`);
    if (typeof c === 'string') problems.push(c);
    else out.push(c);
  });
  if (problems.length) throw configError(problems);
  return out;
}

/** One ConfigError for a list of problems: the message is the problem, or all of them one per line. */
export function configError(problems: readonly string[]): ConfigError {
  const message = problems.length === 1 ? problems[0]! : `${problems.length} configuration problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`;
  return new ConfigError(message, { problems });
}
