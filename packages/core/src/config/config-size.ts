/**
 * Bounds on what a config value may expand to. YAML aliases (and JS configs) can build a value
 * whose tree is exponentially larger than its file (`a1: [*a0, *a0, ...]`, nine levels deep is
 * 10^9 nodes); walking or printing such a value would hang or exhaust memory.
 */

/** Most values (objects, arrays, scalars, each time reached) a config may contain. */
export const MAX_CONFIG_NODES = 100_000;

/** Deepest nesting accepted in a config or a snapshot: recursive code (freezing, fingerprints) stays far from the stack's limit. */
export const MAX_NESTING = 64;

/** Nesting depth of `v` (a scalar is 0), stopping past `cap`; iterative, so any depth is safe to ask about. */
export function nestingDepth(v: unknown, cap = MAX_NESTING): number {
  let max = 0;
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (d > max) max = d;
    if (max > cap) return max;
    if (typeof x === 'object' && x !== null) {
      let vals: unknown[];
      try { vals = Object.values(x); } catch { continue; }
      for (const c of vals) stack.push([c, d + 1]);
    }
  }
  return max;
}

/** Number of values in `v` counting shared references each time, stopping past `cap`. */
export function countNodes(v: unknown, cap = MAX_CONFIG_NODES): number {
  let n = 0;
  const stack: unknown[] = [v];
  while (stack.length) {
    const x = stack.pop();
    if (++n > cap) return n;
    if (typeof x === 'object' && x !== null) {
      let vals: unknown[];
      try { vals = Object.values(x); } catch { continue; }
      for (const c of vals) stack.push(c);
    }
  }
  return n;
}

/** A one-line preview of a value of at most `max` characters, however large the value. */
export function preview(v: unknown, max = 80): string {
  let out = '';
  const put = (s: string): boolean => {
    out += s;
    return out.length <= max;
  };
  const walk = (x: unknown, depth: number): boolean => {
    if (x === undefined) return put('undefined');
    if (typeof x === 'number') return put(Number.isFinite(x) ? JSON.stringify(x) : String(x));
    if (typeof x === 'bigint') return put(`${x}n`);
    if (typeof x !== 'object' || x === null) {
      let s: string | undefined;
      try { s = JSON.stringify(x); } catch { s = undefined; }
      return put(s ?? String(typeof x === 'symbol' ? x.toString() : typeof x));
    }
    if (depth > 8) return put('…');
    const arr = Array.isArray(x);
    if (!put(arr ? '[' : '{')) return false;
    let first = true;
    let entries: [string, unknown][];
    try { entries = Object.entries(x); } catch { return put('…'); }
    for (const [k, c] of entries) {
      if (!first && !put(',')) return false;
      first = false;
      if (!arr && !put(`${JSON.stringify(k)}:`)) return false;
      if (!walk(c, depth + 1)) return false;
    }
    return put(arr ? ']' : '}');
  };
  walk(v, 0);
  return out.length > max ? `${out.slice(0, max - 3)}...` : out;
}
