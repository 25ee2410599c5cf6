import { Constants } from '../qdq/constants';
import { attrFloat, attrInt, attrInts, attrString, type OnnxGraph, type OnnxNode } from './model';

/**
 * A bound no computation below may reach: far under float32's largest value (3.4e38), so that the
 * rounding of a float32 accumulation (relative 2⁻²⁴ per step, a few million steps at most) cannot
 * carry a sum bounded by it to ±Infinity.
 */
const LIMIT = 1e37;
/** An upper bound of the number of values a mean or a dot product adds up (sizes are < 2³²). */
const MAX_TERMS = 2 ** 32;

/** How one node's float output is bounded by its float data inputs' bounds. */
interface Rule {
  /** The float data inputs (NaN-free and finite is required of each). */
  readonly data: readonly string[];
  /** |output| and every intermediate value of the op ≤ bound(input bounds); > LIMIT: no proof. */
  readonly bound: (b: readonly number[]) => number;
  /** The inputs must be range tensors (their finite extremes prove them non-empty: a mean of nothing is NaN). */
  readonly nonEmpty?: boolean;
}

/**
 * NaN checks proven instead of reduced. A reduced tensor t needs a ReduceSum only to detect NaN
 * (onnxruntime's ReduceMin/ReduceMax skip a NaN that is not the first value; ±Infinity shows in
 * them). t cannot hold a NaN when its producing op cannot make one: its float inputs hold no NaN
 * and no ±Infinity, and, with bounds on their magnitudes, no value the op computes (products, sums,
 * accumulations) can overflow — an overflow to ±Infinity is how +∞ − ∞, 0·∞ and ∞/∞ arise. Every
 * input is either a range tensor (NaN-free and finite when its min, max and sum, or its own proof,
 * are finite in this batch; its bound max(|min|, |max|)), a constant (finite values, checked
 * once), or an intermediate tensor proven the same way from its own inputs, recursively.
 *
 * The proof is checked per batch from the packed statistics; when it fails (an input not finite,
 * a bound too large) the tensor counts as non-finite for that batch and the runner re-runs it with
 * its full values, as for a NaN: tables are those of a ReduceSum check either way.
 *
 * The ops: elementwise Add, Sub, Mul, Div by a constant without zeros, Neg, Abs, Relu, LeakyRelu,
 * Clip with constant bounds, Sigmoid, HardSigmoid, Tanh, HardSwish, Softmax; Conv, ConvTranspose,
 * MatMul, Gemm with constant weights; BatchNormalization; GlobalAveragePool and unpadded
 * AveragePool (of range tensors: means of non-empty sets); nearest and linear Resize; Concat,
 * Split, Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Identity, Slice, Gather, Expand, Tile
 * (values moved). Anything else (Sqrt, Pow, Log, Exp, Div by a tensor, ReduceMean, Cast, MaxPool,
 * LSTM, If/Loop/Scan, other domains) ends a proof: such tensors keep their ReduceSum.
 */
export interface NanProofs {
  /** Range tensors whose NaN check is a proof (no ReduceSum of their own). */
  readonly proven: ReadonlySet<string>;
  /**
   * For one batch: `stats(t)` gives [min, max, sum] of range tensors earlier in graph order (for a
   * proven one, sum 0 when its proof held, NaN when not); the returned check tells whether a
   * proven tensor's inputs are NaN-free and finite and its op bounded.
   */
  checker(stats: (t: string) => readonly [number, number, number] | undefined): (t: string) => boolean;
}

/**
 * The NaN proofs of `graph`'s range tensors `range` (main graph, graph order); `reduced`: those
 * reduced in-graph (the others are derived, see derivableRanges) — only these can drop a ReduceSum.
 */
export function nanProofs(graph: OnnxGraph, range: readonly string[], reduced: ReadonlySet<string>): NanProofs {
  const inRange = new Set(range);
  const consts = new Constants(graph);
  const fed = new Set(graph.input.map((i) => i.name));
  const producer = new Map<string, OnnxNode>();
  for (const n of graph.node) for (const o of n.output) if (o) producer.set(o, n);
  // Float constants (an initializer the caller may feed is none). Their values are read only when a
  // proof is first checked (the first batch), not while the model is instrumented: that is on the
  // way to session creation.
  const isConst = (name: string): boolean => !fed.has(name) && consts.isFloat(name);
  const memo = new Map<string, number>();
  const lazy = (key: string, f: () => number): number => {
    let v = memo.get(key);
    if (v === undefined) memo.set(key, (v = f()));
    return v;
  };
  // max |value| of a float constant; NaN when one is not finite (then no proof holds).
  const absMax = (name: string): number => lazy(`max:${name}`, () => {
    const v = consts.get(name)!.values;
    let m = 0;
    for (let i = 0; i < v.length; i++) { const a = Math.abs(v[i]!); if (!(a <= 3.4028234663852886e38)) return NaN; if (a > m) m = a; }
    return m;
  });
  // Σ|w| of a float constant (a bound of any dot product with it: |Σ w·x| ≤ Σ|w| · max|x|).
  const absSum = (name: string): number => lazy(`sum:${name}`, () => {
    const v = consts.get(name)!.values;
    let s = 0;
    for (let i = 0; i < v.length; i++) s += Math.abs(v[i]!);
    return s;
  });
  const optional = (name: string | undefined): number => (name ? absMax(name) : 0);
  // 0 when every value of these constants is finite, NaN otherwise (added to a bound: no proof).
  const finite = (...names: string[]): number => names.reduce((acc, c) => acc + absMax(c) * 0, 0);

  const rules = new Map<string, Rule | null>();
  const ruleOf = (n: OnnxNode): Rule | undefined => {
    if (n.domain && n.domain !== 'ai.onnx') return undefined;
    const [a, b] = n.input;
    if (!a) return undefined;
    const same = { data: [a], bound: (x: readonly number[]) => x[0]! };
    switch (n.opType) {
      case 'Identity': case 'Reshape': case 'Flatten': case 'Squeeze': case 'Unsqueeze': case 'Transpose':
      case 'Slice': case 'Gather': case 'Expand': case 'Tile': case 'Split': case 'Relu': case 'Neg': case 'Abs':
        return same;
      case 'Concat':
        return n.input.every((x) => x) ? { data: n.input, bound: (x) => Math.max(...x) } : undefined;
      case 'LeakyRelu': {
        const alpha = Math.abs(attrFloat(n, 'alpha', 0.01));
        return { data: [a], bound: (x) => x[0]! * Math.max(1, alpha) };
      }
      case 'Clip': {
        // Bounds: attributes before opset 11, optional constant inputs from then on; not NaN
        // (±Infinity is no bound). The output is bounded by the input.
        const bounds = n.input.slice(1).filter((x) => x);
        if (!bounds.every(isConst)) return undefined;
        if (Number.isNaN(attrFloat(n, 'min', 0)) || Number.isNaN(attrFloat(n, 'max', 0))) return undefined;
        const nan = (name: string) => lazy(`nan:${name}`, () => (consts.get(name)!.values.some(Number.isNaN) ? NaN : 0));
        return { data: [a], bound: (x) => x[0]! + bounds.reduce((acc, c) => acc + nan(c), 0) };
      }
      case 'Sigmoid': case 'Tanh': case 'HardSigmoid':
        // Outputs in [0, 1] ([−1, 1]) for any finite input.
        return { data: [a], bound: () => 1 };
      case 'Softmax':
        // x − max(x) first: |x − max| ≤ 2·max|x|; the exponentials ≤ 1, their sum ≥ 1.
        return { data: [a], bound: (x) => 2 * x[0]! };
      case 'HardSwish':
        return { data: [a], bound: (x) => x[0]! * Math.max(1, (x[0]! + 3) / 6) };
      case 'Add': case 'Sub': case 'Mul': {
        if (!b) return undefined;
        // A constant operand is bounded by its values; a tensor operand must be proven.
        const [ca, cb] = [isConst(a), isConst(b)];
        const data = [...(ca ? [] : [a]), ...(cb ? [] : [b])];
        if (!data.length) return undefined;
        const bounds = (x: readonly number[]): [number, number] => {
          let k = 0;
          return [ca ? absMax(a) : x[k++]!, cb ? absMax(b) : x[k++]!];
        };
        return n.opType === 'Mul'
          ? { data, bound: (x) => { const [p, q] = bounds(x); return p * q; } }
          : { data, bound: (x) => { const [p, q] = bounds(x); return p + q; } };
      }
      case 'Div': {
        // By a constant without zeros only (0/0 and x/0 make NaN and ±Infinity).
        if (!b || !isConst(b) || isConst(a)) return undefined;
        const least = () => lazy(`min:${b}`, () => {
          const v = consts.get(b)!.values;
          let m = Infinity;
          for (let i = 0; i < v.length; i++) m = Math.min(m, Math.abs(v[i]!));
          return m > 0 ? m : NaN;
        });
        return { data: [a], bound: (x) => x[0]! / least() + finite(b) };
      }
      case 'Conv': case 'ConvTranspose': {
        const bias = n.input[2];
        if (!b || !isConst(b) || (bias && !isConst(bias))) return undefined;
        return { data: [a], bound: (x) => absSum(b) * x[0]! + optional(bias) };
      }
      case 'MatMul': {
        // One constant side: |Σ w·x| ≤ Σ|w| · max|x|.
        if (!b || isConst(a) === isConst(b)) return undefined;
        const [w, d] = isConst(b) ? [b, a] : [a, b];
        return { data: [d], bound: (x) => absSum(w) * x[0]! };
      }
      case 'Gemm': {
        // alpha·A·B + beta·C with B (or A) constant and C constant.
        const c = n.input[2];
        if (!b || isConst(a) === isConst(b) || (c && !isConst(c))) return undefined;
        const [w, d] = isConst(b) ? [b, a] : [a, b];
        const alpha = Math.abs(attrFloat(n, 'alpha', 1));
        const beta = Math.abs(attrFloat(n, 'beta', 1));
        return { data: [d], bound: (x) => alpha * absSum(w) * x[0]! + beta * optional(c) };
      }
      case 'BatchNormalization': {
        // Inference form: scale · (x − mean) / sqrt(var + eps) + bias, constant parameters.
        const [, sc, bi, mean, vr] = n.input;
        if (!sc || !bi || !mean || !vr || ![sc, bi, mean, vr].every(isConst) || n.output.slice(1).some((o) => o) || attrInt(n, 'training_mode', 0) !== 0) return undefined;
        const eps = attrFloat(n, 'epsilon', 1e-5);
        const gain = () => lazy(`bn:${n.output[0]}`, () => {
          const s = consts.get(sc)!.values;
          const v = consts.get(vr)!.values;
          let k = 0;
          for (let i = 0; i < Math.max(s.length, v.length); i++) {
            const d = v[v.length === 1 ? 0 : i]! + eps;
            if (!(d > 0)) return NaN;
            k = Math.max(k, Math.abs(s[s.length === 1 ? 0 : i]!) / Math.sqrt(d));
          }
          return k;
        });
        return { data: [a], bound: (x) => gain() * (x[0]! + absMax(mean)) + absMax(bi) + finite(sc, vr) };
      }
      case 'GlobalAveragePool':
        return { data: [a], nonEmpty: true, bound: (x) => MAX_TERMS * x[0]! };
      case 'AveragePool': {
        // Without padding every window holds values (a window of padding only would divide 0 by 0).
        const pads = attrInts(n, 'pads') ?? [];
        const autoPad = attrString(n, 'auto_pad', 'NOTSET');
        if (pads.some((p) => p !== 0) || (autoPad !== 'NOTSET' && autoPad !== 'VALID') || attrInt(n, 'ceil_mode', 0) !== 0) return undefined;
        return { data: [a], nonEmpty: true, bound: (x) => MAX_TERMS * x[0]! };
      }
      case 'Resize': {
        // Nearest copies values; linear interpolation is a convex combination (no extrapolation).
        const mode = attrString(n, 'mode', 'nearest');
        if ((mode !== 'nearest' && mode !== 'linear') || attrString(n, 'coordinate_transformation_mode', 'half_pixel') === 'tf_crop_and_resize') return undefined;
        return { data: [a], bound: (x) => x[0]! * (mode === 'linear' ? 1.001 : 1) };
      }
      default:
        return undefined;
    }
  };
  const rule = (n: OnnxNode): Rule | undefined => {
    const key = n.output[0] ?? '';
    if (!rules.has(key)) rules.set(key, ruleOf(n) ?? null);
    return rules.get(key) ?? undefined;
  };

  // Statically, in graph order: can v's NaN-freeness be established at run time? Range tensors
  // always can (own check or proof), constants when finite, other tensors through their
  // producer's rule.
  const provable = new Set<string>();
  const canProve = (v: string): boolean => inRange.has(v) || provable.has(v) || isConst(v);
  const proven = new Set<string>();
  for (const n of graph.node) {
    const r = rule(n);
    if (!r || (r.nonEmpty && !r.data.every((x) => inRange.has(x))) || !r.data.every(canProve)) continue;
    for (const o of n.output) {
      if (!o || fed.has(o)) continue;
      if (!inRange.has(o)) provable.add(o);
      else if (reduced.has(o)) proven.add(o);
    }
  }

  return {
    proven,
    checker(stats) {
      // Per batch: a proven bound of each tensor looked at (NaN: not proven).
      const bounds = new Map<string, number>();
      const bound = (v: string): number => {
        if (!canProve(v)) return NaN;
        if (inRange.has(v)) {
          const s = stats(v);
          if (!s) return NaN;
          const [mn, mx, sum] = s;
          return mn - mn + (mx - mx) + (sum - sum) === 0 ? Math.max(Math.abs(mn), Math.abs(mx)) : NaN;
        }
        if (isConst(v)) return absMax(v);
        let b = bounds.get(v);
        if (b === undefined) {
          b = viaRule(producer.get(v));
          bounds.set(v, b);
        }
        return b;
      };
      const viaRule = (n: OnnxNode | undefined): number => {
        const r = n && rule(n);
        if (!r) return NaN;
        const bs = r.data.map(bound);
        const out = bs.every((x) => x <= LIMIT) ? r.bound(bs) : NaN;
        return out <= LIMIT ? out : NaN;
      };
      return (t) => {
        if (!proven.has(t)) return false;
        return viaRule(producer.get(t)) <= LIMIT;
      };
    },
  };
}
