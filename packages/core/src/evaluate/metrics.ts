/**
 * Streaming FP32-vs-INT8 agreement metrics for one tensor: running dot product, norms and
 * squared error, so any number of samples is summarised in O(1) memory.
 *
 * NaN in either input propagates into the sums (the result is NaN: the comparison is not
 * meaningful); the caller reports it as such. Cosine of two all-zero tensors is 1, of one
 * all-zero tensor 0; SQNR is +Infinity when the INT8 values equal the FP32 ones exactly.
 */
export interface MetricAccumulator {
  dot: number;
  refSq: number;
  testSq: number;
  errSq: number;
  errAbs: number;
  maxAbs: number;
  elements: number;
  batches: number;
  worstBatchCosine: number;
}

export interface TensorMetrics {
  name: string;
  /** Cosine similarity over all elements of all samples. */
  cosine: number;
  /** Lowest cosine of a single inference (batch). */
  worstBatchCosine: number;
  /** 10·log10(Σ fp32² / Σ (fp32 − int8)²), in dB; Infinity when there is no error. */
  sqnrDb: number;
  maxAbsError: number;
  meanAbsError: number;
  elements: number;
}

export function createAccumulator(): MetricAccumulator {
  return { dot: 0, refSq: 0, testSq: 0, errSq: 0, errAbs: 0, maxAbs: 0, elements: 0, batches: 0, worstBatchCosine: Infinity };
}

function cosineOf(dot: number, a: number, b: number): number {
  if (a === 0 && b === 0) return 1;
  if (a === 0 || b === 0) return 0;
  return dot / Math.sqrt(a * b);
}

/** Adds one inference's values (same length, same layout) to the accumulator. */
export function accumulate(acc: MetricAccumulator, ref: ArrayLike<number>, test: ArrayLike<number>): void {
  let dot = 0, a = 0, b = 0, e2 = 0, e1 = 0, mx = acc.maxAbs;
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i]!, t = test[i]!;
    const d = r - t;
    dot += r * t; a += r * r; b += t * t; e2 += d * d;
    const ad = Math.abs(d);
    e1 += ad;
    if (ad > mx || Number.isNaN(ad)) mx = ad;
  }
  acc.dot += dot; acc.refSq += a; acc.testSq += b; acc.errSq += e2; acc.errAbs += e1; acc.maxAbs = mx;
  acc.elements += ref.length;
  acc.batches++;
  acc.worstBatchCosine = Math.min(acc.worstBatchCosine, cosineOf(dot, a, b));
}

/** The metrics of an accumulator. */
export function finishMetrics(name: string, acc: MetricAccumulator): TensorMetrics {
  return {
    name,
    cosine: cosineOf(acc.dot, acc.refSq, acc.testSq),
    worstBatchCosine: acc.batches ? acc.worstBatchCosine : NaN,
    sqnrDb: acc.errSq === 0 ? Infinity : 10 * Math.log10(acc.refSq / acc.errSq),
    maxAbsError: acc.maxAbs,
    meanAbsError: acc.elements ? acc.errAbs / acc.elements : 0,
    elements: acc.elements,
  };
}

/** Worst first: lowest cosine, then lowest SQNR; NaN (not comparable) first of all. */
export function compareWorstFirst(a: TensorMetrics, b: TensorMetrics): number {
  const ka = Number.isNaN(a.cosine) ? -Infinity : a.cosine, kb = Number.isNaN(b.cosine) ? -Infinity : b.cosine;
  return ka - kb || a.sqnrDb - b.sqnrDb || a.name.localeCompare(b.name);
}
