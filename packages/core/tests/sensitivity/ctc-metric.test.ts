import { ctcCharAccuracyMetric, ctcGreedy, labelEditDistance, loadFidelityMetric } from '../../src/sensitivity';

/** [1, T, C] one-hot scores for a label path (class per step). */
function scores(path: number[], classes = 5): { y: { data: Float32Array; dims: number[] } } {
  const data = new Float32Array(path.length * classes);
  path.forEach((c, t) => { data[t * classes + c] = 1; });
  return { y: { data, dims: [1, path.length, classes] } };
}

describe('CTC character accuracy metric', () => {
  test('greedy decoding merges repeats and drops blanks', () => {
    const s = scores([1, 1, 0, 1, 2, 2, 0, 0, 3]);
    expect(ctcGreedy(s.y.data, 9, 5)).toEqual([1, 1, 2, 3]);
    expect(labelEditDistance([1, 2, 3], [1, 3])).toBe(1);
    expect(labelEditDistance([], [4, 4])).toBe(2);
  });

  test('1 for identical readings, 1 − edits/len otherwise, floored at 0, mean over lines', () => {
    const a = scores([1, 0, 2, 0, 3, 0]);
    const b = scores([1, 0, 2, 0, 4, 0]);
    const c = scores([4, 0, 4, 0, 4, 4, 4, 0].slice(0, 6));
    expect(ctcCharAccuracyMetric.metric([a], [a])).toBe(1);
    expect(ctcCharAccuracyMetric.metric([a], [b])).toBeCloseTo(2 / 3, 12);
    expect(ctcCharAccuracyMetric.metric([a, a], [a, b])).toBeCloseTo(5 / 6, 12);
    expect(ctcCharAccuracyMetric.metric([a], [c])).toBeGreaterThanOrEqual(0);
    expect(loadFidelityMetric('ctc-char-accuracy')).toBe(ctcCharAccuracyMetric);
  });
});
