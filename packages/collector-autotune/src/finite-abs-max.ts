import { histogramKernels } from '@qcal/kernels';

/**
 * The largest |x| of the finite values of `data` and `m` (NaN and ±Infinity left out). In
 * WebAssembly (@qcal/kernels `finiteRange` with limit +Infinity: |x| ≤ max(−min, max)) when built
 * and `data` is long enough to pay for the call; else {@link finiteAbsMaxJs}, the reference.
 */
export function finiteAbsMax(data: Float32Array, m: number): number {
  const k = data.length >= 256 ? histogramKernels() : null;
  if (!k) return finiteAbsMaxJs(data, m);
  const r = k.finiteRange(data, Infinity);
  if (-r.min > m) m = -r.min; // min > max (nothing finite): −Infinity here and below, m stays
  if (r.max > m) m = r.max;
  return m;
}

/** {@link finiteAbsMax} in JavaScript: the reference of the WebAssembly path, and its fallback. */
export function finiteAbsMaxJs(data: Float32Array, m: number): number {
  for (let i = 0; i < data.length; i++) {
    const a = Math.abs(data[i]!);
    if (a > m && a !== Infinity) m = a; // NaN fails `a > m`
  }
  return m;
}
