import { Constants } from '../qdq/constants';
import { attrString, getAttribute, type OnnxGraph } from './model';

/**
 * A tensor whose exact [min, max] follows from another tensor's: t = f(source) elementwise, with f
 * monotone in float32 arithmetic; or t made of the values of its sources, each of them at least
 * once (nearest upsampling by an integer factor, Concat).
 */
export interface DerivedRange {
  readonly source: string;
  /**
   * Concat: every input (`source` is the first). t's range is `map` of the union of their ranges:
   * [min of the minima, max of the maxima] (an empty input, min +∞ and max −∞, adds nothing).
   */
  readonly sources?: readonly string[];
  /** The producing op, for messages. */
  readonly opType: string;
  /** [min, max] of t from [min, max] of the source (finite or not: ±∞ map as onnxruntime maps them). */
  readonly map: (min: number, max: number) => [number, number];
  /**
   * t's values at the places of the given source values (a new array; float32 results, exact as
   * `map`: one float32 operation per value, as onnxruntime computes it). Absent where t is not
   * elementwise in its source (Resize, Concat): such a range is derived, a sample is not.
   */
  readonly apply?: (source: Float32Array) => Float32Array;
}

/**
 * Whether Resize node `n` repeats every value of its input at least once and makes no other value:
 * mode nearest, constant integer scales (no `sizes`, no `axes`), and a coordinate transformation
 * under which, for every input index k, some output index maps exactly onto k:
 * - asymmetric: x = i / s; for i = s·k the float32 quotient is exactly k (an exact, representable
 *   result is what IEEE division returns), whatever the nearest mode;
 * - half_pixel, pytorch_half_pixel with s a power of two: x = (i + 0.5) / s − 0.5 is computed
 *   exactly; s = 1 gives x = i, and for s ≥ 2 the outputs i = s·k + s/2 and s·k + s/2 − 1 map to
 *   k ± 0.5/s (|0.5/s| ≤ 0.25), which floor, ceil and either rounding take to k.
 * Opset 11 form (X, roi, scales[, sizes]) only.
 */
function coveringResize(n: OnnxGraph['node'][number], scalesOf: (name: string) => Float32Array | undefined): boolean {
  if (n.input.length < 3 || (n.input[3] ?? '') !== '' || getAttribute(n, 'axes')) return false;
  if (attrString(n, 'mode', 'nearest') !== 'nearest') return false;
  const scales = n.input[2] ? scalesOf(n.input[2]) : undefined;
  if (!scales?.length || ![...scales].every((s) => Number.isInteger(s) && s >= 1 && s < 2 ** 16)) return false;
  const ctm = attrString(n, 'coordinate_transformation_mode', 'half_pixel');
  if (ctm === 'asymmetric') return true;
  const pow2 = [...scales].every((s) => (s & (s - 1)) === 0);
  return pow2 && (ctm === 'half_pixel' || ctm === 'pytorch_half_pixel');
}

const f32 = Math.fround;
const FLT_MAX = 3.4028234663852886e38;
const same = (lo: number, hi: number): [number, number] => [lo, hi];
const copy = (a: Float32Array): Float32Array => a.slice();

/**
 * The tensors of `range` (main graph) whose range can be derived from another tensor of `range`:
 * - value-preserving ops (Reshape, Flatten, Squeeze, Unsqueeze, Identity, Transpose): the same range;
 * - Add, Sub, Mul, Div with one operand a single-valued float constant (c ≠ 0 for Mul/Div, finite):
 *   IEEE rounding is monotone, so min(fl(x ∘ c)) = fl(min(x) ∘ c) exactly (max likewise, swapped
 *   when ∘ reverses the order); one float32 operation is reproduced exactly by rounding the
 *   double result (double has more than 2·24 + 2 bits, so rounding twice is innocuous);
 * - Relu, and Clip with constant bounds: clamping is exact and monotone;
 * - Resize in nearest mode by constant integer scales (see coveringResize): every input value is
 *   repeated at least once, no other value made: the same range;
 * - Concat of range tensors only: the union of their ranges (see DerivedRange.sources).
 *
 * Why it is exact and not an approximation of the graph: the runner keeps one consumer on every
 * derived tensor (so onnxruntime fuses exactly as when the tensor is reduced; see instrument.ts),
 * hence the graph computes t as that one elementwise op on the same source values.
 * NaN: a source holding a NaN is caught by its own check, and its derived tensors are re-run in
 * full with it; an overflow to ±∞ in t shows in the derived extremes (monotone).
 * Tensors inside If/Loop/Scan bodies are not derived.
 */
export function derivableRanges(graph: OnnxGraph, range: readonly string[]): Map<string, DerivedRange> {
  const inRange = new Set(range);
  const consts = new Constants(graph);
  const fed = new Set(graph.input.map((i) => i.name));
  // A single finite float32 constant (an initializer listed as a graph input can be overridden by a feed).
  const scalar = (name: string | undefined): number | undefined => {
    if (!name || fed.has(name)) return undefined;
    const v = consts.get(name)?.values;
    return v && v.length === 1 && Number.isFinite(v[0]!) ? v[0]! : undefined;
  };
  const out = new Map<string, DerivedRange>();
  for (const n of graph.node) {
    const t = n.output[0];
    if (!t || !inRange.has(t) || (n.domain && n.domain !== 'ai.onnx')) continue;
    let d: Omit<DerivedRange, 'opType'> | undefined;
    const [a, b] = n.input;
    switch (n.opType) {
      case 'Reshape': case 'Flatten': case 'Squeeze': case 'Unsqueeze': case 'Identity': case 'Transpose':
        if (a) d = { source: a, map: same, apply: copy };
        break;
      case 'Resize':
        // Values repeated, none made (see coveringResize): the same range; no per-value map.
        if (a && coveringResize(n, (x) => (fed.has(x) ? undefined : consts.get(x)?.values))) d = { source: a, map: same };
        break;
      case 'Concat': {
        // The union of the inputs' ranges, when every input is a range tensor (no constant part).
        const ins = n.input.filter((x) => x);
        if (a && ins.length === n.input.length && ins.every((x) => inRange.has(x) && x !== t)) d = { source: ins[0]!, sources: ins, map: same };
        break;
      }
      case 'Relu':
        if (a) d = { source: a, map: (lo, hi) => [Math.max(lo, 0), Math.max(hi, 0)], apply: (src) => { const o = new Float32Array(src.length); for (let k = 0; k < src.length; k++) { const v = src[k]!; o[k] = v > 0 ? v : 0; } return o; } };
        break;
      case 'Clip': {
        // Bounds: attributes before opset 11, optional inputs from then on; absent = the float32
        // extremes (ONNX's defaults). onnxruntime computes min(max(x, lo), hi).
        const lo = n.input.length > 1 ? (n.input[1] ? scalar(n.input[1]) : -FLT_MAX) : (getAttribute(n, 'min')?.f ?? -FLT_MAX);
        const hi = n.input.length > 2 ? (n.input[2] ? scalar(n.input[2]) : FLT_MAX) : (getAttribute(n, 'max')?.f ?? FLT_MAX);
        if (a && lo !== undefined && hi !== undefined && lo <= hi) {
          const [l, h] = [f32(lo), f32(hi)];
          d = { source: a, map: (x, y) => [Math.min(Math.max(x, l), h), Math.min(Math.max(y, l), h)], apply: (src) => { const o = new Float32Array(src.length); for (let k = 0; k < src.length; k++) { const v = src[k]!; o[k] = v < l ? l : v > h ? h : v; } return o; } };
        }
        break;
      }
      case 'Add': case 'Mul': {
        // Commutative: the constant on either side.
        const [x, c] = scalar(b) !== undefined ? [a, scalar(b)!] : scalar(a) !== undefined ? [b, scalar(a)!] : [undefined, 0];
        if (!x || (n.opType === 'Mul' && c === 0)) break;
        d = n.opType === 'Add'
          ? { source: x, map: (lo, hi) => [f32(lo + c), f32(hi + c)], apply: (src) => { const o = new Float32Array(src.length); for (let k = 0; k < src.length; k++) o[k] = src[k]! + c; return o; } }
          : { source: x, map: (lo, hi) => (c > 0 ? [f32(lo * c), f32(hi * c)] : [f32(hi * c), f32(lo * c)]), apply: (src) => { const o = new Float32Array(src.length); for (let k = 0; k < src.length; k++) o[k] = src[k]! * c; return o; } };
        break;
      }
      case 'Sub': {
        const cb = scalar(b);
        const ca = scalar(a);
        if (a && cb !== undefined) d = { source: a, map: (lo, hi) => [f32(lo - cb), f32(hi - cb)], apply: (src) => { const o = new Float32Array(src.length); for (let k = 0; k < src.length; k++) o[k] = src[k]! - cb; return o; } };
        else if (b && ca !== undefined) d = { source: b, map: (lo, hi) => [f32(ca - hi), f32(ca - lo)], apply: (src) => { const o = new Float32Array(src.length); for (let k = 0; k < src.length; k++) o[k] = ca - src[k]!; return o; } };
        break;
      }
      case 'Div': {
        const c = scalar(b);
        if (a && c !== undefined && c !== 0) d = { source: a, map: (lo, hi) => (c > 0 ? [f32(lo / c), f32(hi / c)] : [f32(hi / c), f32(lo / c)]), apply: (src) => { const o = new Float32Array(src.length); for (let k = 0; k < src.length; k++) o[k] = src[k]! / c; return o; } };
        break;
      }
      default:
        break;
    }
    if (d && inRange.has(d.source) && d.source !== t) out.set(t, { ...d, opType: n.opType });
  }
  return out;
}
