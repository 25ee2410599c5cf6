import type { GraphIndex } from '../onnx/graph-index';
import type { planCollectors } from './plan';

/**
 * Fast mode: histogram collectors see a sample of each tensor (every step-th block of values of the flattened
 * tensor, cut out in-graph) plus its exact min and max (in-graph reductions), instead of every value.
 * One JS pass over every activation costs more than onnxruntime spends producing it (bench/README.md),
 * so this is where a histogram run's time goes; the sample keeps about `per` values per tensor and batch.
 */

/**
 * Default values per tensor and batch in fast mode (`--fast`). Measured on the PP-OCRv4 recognizer
 * (48 calibration / 60 held-out lines, bench/int8-ablation.js): at 16384, INT8 output cosine vs FP32
 * and character accuracy are within the run-to-run noise of the exact tables (ifmr 0.971 vs 0.974,
 * hfmg 0.969 vs 0.964); at 4096 they fall by 1.3–1.5 points of cosine.
 */
export const DEFAULT_SAMPLE_VALUES = 16384;

/**
 * Collectors whose statistics are distributions (histograms, extremes) of a tensor's values and
 * that take a sample's range from `ActivationTensor.extremes`, so a systematic sample stands in for
 * the tensor. Others (plugins, auto-tune) get full tensors.
 */
export const SAMPLEABLE_COLLECTORS: ReadonlySet<string> = new Set(['entropy', 'hfmg', 'ifmr', 'percentile', 'mse', 'minmax']);

/**
 * Whether a built-in collector with these options histograms a sample given the tensor's exact
 * extremes (`ActivationTensor.extremes`): not ifmr's `exact` mode (AMCT's search over raw values)
 * nor percentile's `onnxruntime` mode (its histogram range is the batch's own |x| max).
 */
export function sampleable(name: string, options: Readonly<Record<string, unknown>>): boolean {
  if (!SAMPLEABLE_COLLECTORS.has(name)) return false;
  if (name === 'ifmr' && options.mode === 'exact') return false;
  if (name === 'percentile' && options.mode === 'onnxruntime') return false;
  return true;
}

/** The exponent of 2 in n (n > 0). */
function twos(n: number): number {
  let k = 0;
  while (n % 2 === 0) { n /= 2; k++; }
  return k;
}

/**
 * The step for a tensor of `size` values: a divisor of the size (the graph reshapes the tensor into
 * rows of `step` values and keeps the first column), at most size/per so at least `per` values are
 * kept. Among the divisors down to a quarter of that bound, the one with the fewest factors 2 (ties:
 * the largest): image widths and channel counts are mostly even, and an odd step walks through every
 * column of an even-width row instead of hitting the same few. 1 (every value) below 2·per values.
 * `divides`: the step must divide this instead (the gcd of the sizes a tensor had in several input
 * shapes, so that the step also divides the size of a shape not seen yet).
 */
export function sampleStep(size: number, per: number, divides = size): number {
  const bound = Math.floor(size / per);
  if (!(bound >= 2)) return 1;
  let best = 1;
  let bestTwos = Infinity;
  for (let d = bound; d >= 2; d--) {
    if (divides % d) continue;
    if (best > 1 && d * 4 < bound) break;
    const t = twos(d);
    if (t < bestTwos) { best = d; bestTwos = t; }
    if (t === 0) break;
  }
  return best;
}

/** How a tensor is sampled: the first `block` values of every `step·block` (step 1: every value). */
export interface SamplePlan {
  readonly step: number;
  readonly block: number;
}

/** Values per block when the size allows: onnxruntime's Slice copies runs of 16 values ~5× faster per value than single ones (profiled on the recognizer). */
export const SAMPLE_BLOCK = 16;

/**
 * The plan for a tensor of `size` values: blocks of {@link SAMPLE_BLOCK} values when `divides` (the
 * size, or the gcd of the sizes seen) is a multiple of it, and the step over blocks from
 * {@link sampleStep}, so about `per` values remain; `step·block` divides `divides`.
 */
export function samplePlan(size: number, per: number, divides = size): SamplePlan {
  const block = divides % SAMPLE_BLOCK === 0 ? SAMPLE_BLOCK : 1;
  const step = sampleStep(size / block, Math.max(1, Math.floor(per / block)), divides / block);
  return step > 1 ? { step, block } : { step: 1, block: 1 };
}

/** What the graph's sample holds for a plan: the first `block` values of every `step·block`, from the first. */
export function strided(data: Float32Array, step: number, block = 1): Float32Array {
  if (step <= 1) return data;
  const period = step * block;
  const rows = Math.floor(data.length / period);
  const out = new Float32Array(rows * block);
  for (let r = 0; r < rows; r++) out.set(data.subarray(r * period, r * period + block), r * block);
  return out;
}

/**
 * The tensors fast mode samples (`CalibrateOptions.sampleValues`): fetched in full, in the
 * main graph, and wanted only by collectors whose statistics a sample with exact extremes stands in for.
 */
export function sampledTensors(plan: Pick<ReturnType<typeof planCollectors>, 'collectors' | 'full'>, index: GraphIndex): string[] {
  const ok = new Map<string, boolean>();
  for (const p of plan.collectors) {
    const can = sampleable(p.resolved.name, p.resolved.options);
    for (const t of p.tensors) ok.set(t.name, (ok.get(t.name) ?? true) && can);
  }
  return plan.full.filter((t) => ok.get(t) && (index.tensors.get(t)?.graphPath ?? '') === '');
}
