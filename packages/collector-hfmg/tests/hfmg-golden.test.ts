import { expectClose } from '@qcal/plugin-kit/testkit';
import { createHfmgHistogram, finiteRange, hfmgAddBatch, hfmgSearch } from '@qcal/collector-hfmg';
import { golden, goldenBatches } from '../../../test-support/paths';

const CASES = ['constant', 'gaussian', 'gaussian_outliers', 'growing_range', 'laplace', 'relu_like', 'zeros_spike'];
const VARIANTS = ['symmetric', 'asymmetric', 'symmetric_int4', 'asymmetric_int4'];
const close = (a: number, e: number) => expectClose(a, e, { rtol: 1e-5, atol: 1e-7 });

describe('HFMG kernels against golden/amct_hfmg', () => {
  it.each(CASES)('%s: merged histogram and all four variants', (name) => {
    const g = golden('amct_hfmg', name);
    const h = createHfmgHistogram(4096);
    for (const b of goldenBatches(g)) { const r = finiteRange(b); hfmgAddBatch(h, b, r.min, r.max); }
    const mh = g.expected.merged_histogram;
    expect([h.min, h.max]).toEqual([mh.hist_min, mh.hist_max]);
    expect(Array.from(h.counts)).toEqual(mh.hist);
    for (const v of VARIANTS) {
      const p = g.params[v];
      const e = g.expected[v];
      const r = hfmgSearch(h.counts, h.min!, h.max!, p.with_offset, p.num_bits);
      expect(`${v} ${r.diag.nCandidates} ${r.diag.bestIndex} ${r.diag.bestBins}`).toBe(`${v} ${e.diag.n_candidates} ${e.diag.best_index} ${e.diag.best_bins}`);
      close(r.rangeMin, e.range_min);
      close(r.rangeMax, e.range_max);
      close(r.scale, e.scale);
      expect(r.offset).toBe(e.offset);
      close(r.clipMin, e.clip_min);
      close(r.clipMax, e.clip_max);
    }
  });
});
