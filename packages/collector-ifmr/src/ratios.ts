import { f32 } from './float32';

/**
 * The candidate ratios `torch.arange(start, end, step, dtype=torch.float32)` as AMCT's IFMR builds
 * them (`ifmr_impl.py`), bit for bit on an x86 CPU:
 * - the length is `ceil((end - start) / step)` in double, so (0.7, 1.3, 0.01) gives **61** values
 *   (0.70 … 1.30: (1.3 − 0.7)/0.01 = 60.000000000000007 in double), (0.8, 1.2, 0.02) gives 20;
 *   AMCT's older C++ library gives 60 and 21 (`(unsigned)((end − start)/step + 1)` in float);
 * - the kernel accumulates in double (`acc_type<float>` on CPU); its vectorised part runs in pairs
 *   of 8-float vectors, each vector being `f32(f32(start + step·i0) + j·step)`, and the remainder
 *   (the last `n mod 16` values) is `f32(start + step·i)`. So 11 of the default 61 ratios are 1 ulp
 *   off `f32(0.7 + k·0.01)` (e.g. index 2 is 0.71999997). ALGORITHMS.md, Corrections item 5.
 */
export function amctRatios(start: number, end: number, step: number): Float32Array {
  if (!(step > 0) || !(end > start)) return new Float32Array(0);
  const n = Math.ceil((end - start) / step);
  const out = new Float32Array(n);
  const VEC = 8;
  const vecEnd = n - (n % (2 * VEC));
  for (let i0 = 0; i0 < vecEnd; i0 += VEC) {
    const base = f32(start + step * i0);
    for (let j = 0; j < VEC; j++) out[i0 + j] = base + j * step; // stored as float32
  }
  for (let i = vecEnd; i < n; i++) out[i] = start + step * i;
  return out;
}
