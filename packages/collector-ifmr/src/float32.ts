/**
 * Float32 arithmetic as torch's CPU kernels do it, in JavaScript doubles. A double operation on
 * float32 operands followed by Math.fround gives the correctly rounded float32 result for + - * /,
 * so `f32(a * b)` is exactly torch's float32 `a * b`.
 */
export const f32 = Math.fround;

/** torch's FLT_EPSILON as AMCT spells it (`amct/utils_vars.py`): 2^-23. */
export const FLT_EPSILON = 1.192092896e-7;

/** Round half to even (torch.round, numpy.round), for finite x. */
export function rint(x: number): number {
  const r = Math.round(x); // half up
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Values with |x| >= 2^100 are treated as overflowed activations: left out of the histogram and
 * the search and counted with ±Infinity (`infCount`): AMCT's float32 scale arithmetic overflows
 * on such ranges (`f32(c − min)/255`, the clip values) and would give NaN or infinite ranges.
 */
export const OVERFLOW_LIMIT = 2 ** 100;
