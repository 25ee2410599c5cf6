import { runCollector, expectClose } from '@qcal/plugin-kit/testkit';
import {
  addToTpumlirHistogram, entropyCollector, scanFinite, tpumlirHistogram, tpumlirKlThreshold, tpumlirPadHistogram,
  TPUMLIR_SKIP_ABS, type TpuMlirHistogram,
} from '@qcal/collector-entropy';
import { golden, goldenBatches } from '../../../test-support/paths';

const CASES = ['constant', 'gaussian', 'gaussian_outliers', 'growing_range', 'laplace', 'relu_like', 'zeros_spike'];

interface TpuMlirGolden {
  batches: number[][];
  params: { histogram_bin_num: number; dst_bins: number };
  expected: {
    threshold: number;
    threshold_raw: number;
    min: number;
    max: number;
    diag: { width: number; hist_len: number; padded_len: number; best_index: number; best_bins: number; kl: number[]; hist: number[] };
  };
}

/** Relative 1e-5, absolute 1e-7 near 0 (the golden files' tolerance). */
function close(actual: number, expected: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(Math.max(1e-7, 1e-5 * Math.abs(expected)));
}

describe('tpumlir mode against golden/tpumlir_kld', () => {
  it.each(CASES)('%s: histogram, divergences and threshold', async (name) => {
    const g = golden<TpuMlirGolden>('tpumlir_kld', name);
    const E = g.expected;
    let h: TpuMlirHistogram | undefined;
    let min = Infinity;
    let max = -Infinity;
    for (const b of goldenBatches(g)) {
      const s = scanFinite(b);
      min = Math.min(min, s.min);
      max = Math.max(max, s.max);
      const absValue = Math.max(-min, max);
      if (s.absMax < TPUMLIR_SKIP_ABS) continue;
      h = h ? addToTpumlirHistogram(h, b, absValue, g.params.histogram_bin_num) : tpumlirHistogram(b, absValue, g.params.histogram_bin_num);
    }
    expect(h!.counts.length).toBe(E.diag.hist_len);
    expect(Array.from(h!.counts)).toEqual(E.diag.hist);
    close(h!.width, E.diag.width);
    const padded = tpumlirPadHistogram(h!.counts, h!.width, g.params.dst_bins);
    expect(padded.counts.length).toBe(E.diag.padded_len);
    const r = tpumlirKlThreshold(padded.counts, padded.width, Math.max(-min, max), g.params.dst_bins);
    expect(r.divergences.length).toBe(E.diag.kl.length);
    E.diag.kl.forEach((v, j) => close(r.divergences[j]!, v));
    expect(r.index).toBe(E.diag.best_index);
    expect(r.bins).toBe(E.diag.best_bins);
    close(r.thresholdRaw, E.threshold_raw);
    close(r.threshold, E.threshold);

    const t = (await runCollector(entropyCollector, { batches: { t: goldenBatches(g) }, options: { mode: 'tpumlir' } })).t!;
    expectClose(t.max, E.threshold, { rtol: 1e-5 });
    expect(t.min).toBe(E.min < 0 ? -t.max : 0);
    expect(t.threshold).toBe(t.max);
    expect(t.caliMin).toBe(E.min);
    expect(t.caliMax).toBe(E.max);
  });
});
