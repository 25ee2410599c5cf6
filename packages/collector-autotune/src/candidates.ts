/**
 * tpu-mlir SimpleTuner's candidate grid (`find_better_threshold`, simple_tunner.py): from the base
 * threshold `th0` to `absMax` in `steps` equal steps, both ends included (steps + 1 values).
 * Empty when there is nothing to tune: `absMax - th0 <= minTunedDiff` (which covers step <= 0), or
 * either value is not finite.
 */
export function tuneCandidates(th0: number, absMax: number, steps: number, minTunedDiff: number): number[] {
  if (!Number.isFinite(th0) || !Number.isFinite(absMax) || steps < 1) return [];
  const step = (absMax - th0) / steps;
  if (step <= 0 || Math.abs(absMax - th0) <= minTunedDiff) return [];
  return Array.from({ length: steps + 1 }, (_, n) => th0 + n * step);
}

/**
 * Index of the first minimum: a later candidate wins only when strictly smaller (tpu-mlir keeps the
 * first). NaN distances never win; all NaN gives 0 (the base threshold).
 */
export function firstMinIndex(distances: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < distances.length; i++) {
    const d = distances[i]!;
    const b = distances[best]!;
    if (d < b || (b !== b && d === d)) best = i;
  }
  return best;
}
