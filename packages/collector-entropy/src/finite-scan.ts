import { histogramKernels } from '@qcal/kernels';

// Globals bound once: in a vm context (jest) each global lookup in a hot loop costs ~300 ns.
const { max: M_max } = Math;
const INF = Infinity;

/** Min, max and abs-max of the finite values of a tensor, with counts of what was left out. */
export interface FiniteScan {
  /** Smallest finite value; +Infinity when there is none. */
  min: number;
  /** Largest finite value; -Infinity when there is none. */
  max: number;
  /** max(|min|, |max|) over finite values; 0 when there is none. */
  absMax: number;
  /** Finite values seen. */
  finite: number;
  nan: number;
  inf: number;
}

/**
 * Values with |x| >= 2^100 count as overflowed activations, like ±Infinity: a histogram grown to
 * cover them would put its float32 edges at ±Infinity (MXNet grows by whole bins past FLT_MAX).
 */
export const OVERFLOW_LIMIT = 2 ** 100;
const LIM = OVERFLOW_LIMIT;

/**
 * One pass over `data`. NaN and ±Infinity are not part of min/max/absMax (a histogram over an
 * infinite range is meaningless) and are counted instead (in `inf`, with values whose magnitude
 * reaches {@link OVERFLOW_LIMIT}), so the collector can report them.
 */
export function scanFinite(data: Float32Array): FiniteScan {
  const k = data.length >= 256 ? histogramKernels() : null;
  if (!k) return scanFiniteJs(data);
  // The same min/max/NaN/infinite split as the two loops below (collector-hfmg's finiteRange), in WebAssembly.
  const r = k.finiteRange(data);
  const finite = data.length - r.nan - r.inf;
  return { min: r.min, max: r.max, absMax: finite > 0 ? M_max(-r.min, r.max) : 0, finite, nan: r.nan, inf: r.inf };
}

/** {@link scanFinite} in JavaScript: the reference of the WebAssembly kernel, and its fallback. */
export function scanFiniteJs(data: Float32Array): FiniteScan {
  let min = INF;
  let max = -INF;
  let nan = 0;
  const n = data.length;
  for (let i = 0; i < n; i++) {
    const v = data[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
    if (v !== v) nan++;
  }
  let inf = 0;
  if (min <= -LIM || max >= LIM) {
    // Rare path: infinities (or overflowed values) present; redo over the others only.
    min = INF;
    max = -INF;
    for (let i = 0; i < n; i++) {
      const v = data[i]!;
      if (v >= LIM || v <= -LIM) { inf++; continue; }
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  const finite = n - nan - inf;
  const absMax = finite > 0 ? M_max(-min, max) : 0;
  return { min, max, absMax, finite, nan, inf };
}

/**
 * Fast mode: the scan of a sample, with the range and abs-max taken from the exact finite extremes
 * of the whole tensor (`ext`), so a histogram grid built from it is the one every value would have
 * given; counts (finite, nan, inf) stay the sample's. A sample without finite values is returned as is.
 */
export function scanWithExtremes(scan: FiniteScan, ext: { readonly min: number; readonly max: number }): FiniteScan {
  if (!scan.finite) return scan;
  const min = ext.min < scan.min ? ext.min : scan.min;
  const max = ext.max > scan.max ? ext.max : scan.max;
  return { ...scan, min, max, absMax: M_max(-min, max) };
}

/** A tensor's running range and non-finite counts over its batches. */
export interface RangeTally { min: number; max: number; nan: number; inf: number }

/**
 * Scans one batch into `tally` (fast mode: the range from the whole tensor's exact extremes, the
 * counts from the sample) and returns the scan, or undefined when the batch has no finite value.
 */
export function tallyBatch(tally: RangeTally, tensor: { readonly data: Float32Array; readonly extremes?: { readonly min: number; readonly max: number } }): FiniteScan | undefined {
  const scan = tensor.extremes ? scanWithExtremes(scanFinite(tensor.data), tensor.extremes) : scanFinite(tensor.data);
  tally.nan += scan.nan;
  tally.inf += scan.inf;
  if (!scan.finite) return undefined;
  if (scan.min < tally.min) tally.min = scan.min;
  if (scan.max > tally.max) tally.max = scan.max;
  return scan;
}
