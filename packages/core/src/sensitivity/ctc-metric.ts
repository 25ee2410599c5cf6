import type { FidelityMetric, ModelOutputs } from './fidelity-metric';

/** Greedy CTC decoding of one [T, C] row block: arg-max per step, repeats merged, blank (class 0) dropped. */
export function ctcGreedy(data: Float32Array, steps: number, classes: number, offset = 0): number[] {
  const out: number[] = [];
  let prev = -1;
  for (let t = 0; t < steps; t++) {
    const base = offset + t * classes;
    let best = 0;
    for (let c = 1; c < classes; c++) if (data[base + c]! > data[base + best]!) best = c;
    if (best !== prev && best !== 0) out.push(best);
    prev = best;
  }
  return out;
}

/** Levenshtein distance of two label sequences. */
export function editDistance(a: readonly number[], b: readonly number[]): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

/**
 * OCR character accuracy of the INT8 recognizer against the FP32 one: both outputs ([N, T, C]
 * class scores, first output) decoded by greedy CTC (blank = class 0, PaddleOCR's convention),
 * score = mean over lines of 1 − editDistance(int8 text, fp32 text) / max(len(fp32 text), 1),
 * floored at 0. 1 means the INT8 model reads every line exactly as the FP32 model does.
 */
export const ctcCharAccuracyMetric: FidelityMetric = {
  name: 'ctc-char-accuracy',
  metric(fp32: readonly ModelOutputs[], int8: readonly ModelOutputs[]) {
    let sum = 0, lines = 0;
    for (let i = 0; i < fp32.length; i++) {
      const name = Object.keys(fp32[i]!)[0]!;
      const a = fp32[i]![name]!, b = int8[i]![name]!;
      const dims = a.dims;
      const classes = dims[dims.length - 1]!, steps = dims.length >= 2 ? dims[dims.length - 2]! : 1;
      const n = a.data.length / (steps * classes);
      for (let r = 0; r < n; r++) {
        const ref = ctcGreedy(a.data, steps, classes, r * steps * classes);
        const got = ctcGreedy(b.data, steps, classes, r * steps * classes);
        sum += Math.max(0, 1 - editDistance(ref, got) / Math.max(ref.length, 1));
        lines++;
      }
    }
    return lines ? sum / lines : NaN;
  },
};
