// Globals bound once: in a vm context (jest) each global lookup in a hot loop costs ~300 ns.
const { floor: M_floor } = Math;

/**
 * Python's float `a // b` (CPython `float_floor_div`): derived from fmod, so it can differ from
 * `Math.floor(a / b)` when the quotient rounds up to an integer. MXNet's `combine_histogram` uses
 * it to size the grown histogram, and the bin count must match exactly.
 */
export function pythonFloorDiv(a: number, b: number): number {
  let mod = a % b;
  let div = (a - mod) / b;
  if (mod !== 0) {
    if (b < 0 !== mod < 0) { mod += b; div -= 1; }
  }
  if (div === 0) return div;
  let floordiv = M_floor(div);
  if (div - floordiv > 0.5) floordiv += 1;
  return floordiv;
}
