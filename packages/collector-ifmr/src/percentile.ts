import { FLT_EPSILON } from './float32';

/**
 * AMCT's rank for a percentile (`find_max_and_min_value_with_percentile`): `k = 1` when
 * `1 − p < FLT_EPSILON`, else `k = n − int(p·n)`; so p = 0.999999 gives k = 1 below 10^6 values.
 * Never below 1 (torch.topk(…, 0) would fail) nor above n.
 */
export function percentileRank(n: number, p: number): number {
  const k = 1 - p < FLT_EPSILON ? 1 : n - Math.floor(p * n);
  return Math.min(Math.max(k, 1), Math.max(n, 1));
}

/**
 * The k-th largest (`largest = true`) or k-th smallest value of `data` (k ≥ 1), as torch.topk(…).values[-1].
 * `data` must hold finite values only. k = 1 is a linear scan; otherwise a quickselect on a copy (O(n)).
 */
export function kthValue(data: Float32Array, k: number, largest: boolean): number {
  const n = data.length;
  if (n === 0) return NaN;
  if (k <= 1) {
    let m = data[0]!;
    if (largest) { for (let i = 1; i < n; i++) if (data[i]! > m) m = data[i]!; }
    else { for (let i = 1; i < n; i++) if (data[i]! < m) m = data[i]!; }
    return m;
  }
  const a = Float32Array.from(data);
  // k-th smallest has index k-1; k-th largest has index n-k (ascending order).
  return quickselect(a, largest ? n - Math.min(k, n) : Math.min(k, n) - 1);
}

/** Hoare quickselect (median of three): the value that would sit at `target` in ascending order. */
function quickselect(a: Float32Array, target: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    const x = a[lo]!, y = a[mid]!, z = a[hi]!;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : (x < z ? x : y < z ? z : y);
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) { const t = a[i]!; a[i] = a[j]!; a[j] = t; i++; j--; }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return a[target]!;
  }
  return a[target]!;
}
