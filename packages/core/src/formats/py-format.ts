/**
 * Number and string formatting that reproduces, byte for byte, what the Python tools write:
 * onnxruntime uses `str(float)` and `json.dumps`, tpu-mlir uses `"{:.7f}".format(x)`.
 * JavaScript's own formatting differs in notation (`1e-7` vs `1e-07`, `1` vs `1.0`) and in
 * rounding (`toFixed` rounds exact ties away from zero, Python to even), so both are rebuilt here.
 */

/**
 * Python's `repr(float)` / `str(float)` (3.x): the shortest digits that read back to the same
 * double (as JavaScript's), laid out the Python way: scientific when the decimal exponent is
 * below -4 or at least 16, with a signed two-digit-minimum exponent, and a `.0` on integers.
 * `nan`, `inf`, `-inf` as Python prints them.
 */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  if (x === 0) return `${sign}0.0`;
  // toExponential() without an argument gives the shortest round-trip digits (same as toString).
  const m = /^(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(Math.abs(x).toExponential());
  if (!m) throw new Error(`cannot format ${x}`);
  const digits = m[1]! + (m[2] ?? '');
  const e = Number(m[3]);
  if (e < -4 || e >= 16) {
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const exp = `${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
    return `${sign}${mant}e${exp}`;
  }
  if (e < 0) return `${sign}0.${'0'.repeat(-e - 1)}${digits}`;
  const intLen = e + 1;
  const intPart = digits.length >= intLen ? digits.slice(0, intLen) : digits.padEnd(intLen, '0');
  const frac = digits.length > intLen ? digits.slice(intLen) : '0';
  return `${sign}${intPart}.${frac}`;
}

/** The exact binary value of a finite double as `mantissa * 2^exp2` (BigInt mantissa). */
function exactBinary(x: number): { mant: bigint; exp2: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(x));
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  const frac = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (biased === 0) return { mant: frac, exp2: -1074 };
  return { mant: frac | (1n << 52n), exp2: biased - 1075 };
}

/**
 * Python's `"{:.Nf}".format(x)`: the exact binary value rounded to N decimals, exact ties to
 * even (JavaScript's `toFixed` takes the larger), a `-` on negative values including `-0.0`
 * and values that round to zero, and no exponent however large the value.
 */
export function pythonFixed(x: number, decimals: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  const { mant, exp2 } = exactBinary(x);
  const scale = 10n ** BigInt(decimals);
  let q: bigint;
  if (exp2 >= 0) {
    q = (mant << BigInt(exp2)) * scale;
  } else {
    const den = 1n << BigInt(-exp2);
    const num = mant * scale;
    q = num / den;
    const twiceRem = (num % den) * 2n;
    if (twiceRem > den || (twiceRem === den && (q & 1n) === 1n)) q += 1n;
  }
  const s = q.toString().padStart(decimals + 1, '0');
  const intPart = s.slice(0, s.length - decimals);
  return decimals > 0 ? `${sign}${intPart}.${s.slice(s.length - decimals)}` : `${sign}${intPart}`;
}

/**
 * A JSON string literal as Python's `json.dumps` writes it with the default `ensure_ascii=True`:
 * `"` `\\` `\n` `\r` `\t` `\b` `\f` escaped by name, every other code unit outside space..`~`
 * as `\uXXXX` (lower-case hex; astral characters as their two surrogates).
 */
export function pythonJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i]!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (c < 0x20 || c > 0x7e) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** Python's `sorted()` order for `str`: by Unicode code point (not UTF-16 code unit). */
export function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const ca = ia.next();
    const cb = ib.next();
    if (ca.done || cb.done) return ca.done ? (cb.done ? 0 : -1) : 1;
    const d = ca.value.codePointAt(0)! - cb.value.codePointAt(0)!;
    if (d !== 0) return d;
  }
}
