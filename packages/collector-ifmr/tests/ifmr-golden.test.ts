import { expectClose } from '@qcal/plugin-kit/testkit';
import { amctRatios, ifmrSearch } from '@qcal/collector-ifmr';
import { golden, goldenBatches } from '../../../test-support/paths';
import { concat, paramsOf } from './helpers';

const CASES = ['constant', 'gaussian', 'gaussian_outliers', 'growing_range', 'laplace', 'relu_like', 'zeros_spike'];
const VARIANTS = ['symmetric', 'asymmetric', 'symmetric_int4', 'asymmetric_int4'];

function close(a: number, e: number): void {
  expectClose(a, e, { rtol: 1e-5, atol: 1e-7 });
}

describe('IFMR exact kernel against golden/amct_ifmr', () => {
  it('builds the 61 ratios of torch.arange(0.7, 1.3, 0.01, float32) bit for bit', () => {
    const g = golden('amct_ifmr', 'gaussian');
    expect(Array.from(amctRatios(0.7, 1.3, 0.01))).toEqual(g.params.ratios_float32);
    expect(amctRatios(0.8, 1.2, 0.02).length).toBe(20);
  });

  for (const name of CASES) {
    it.each(VARIANTS)(`${name} / %s`, (variant) => {
      const g = golden('amct_ifmr', name);
      const exp = g.expected[variant];
      const r = ifmrSearch(concat(goldenBatches(g)), paramsOf(g.params[variant]));
      close(r.diag.maxInit, exp.diag.max_init);
      close(r.diag.minInit, exp.diag.min_init);
      close(r.diag.searchBase, exp.diag.search_base);
      expect(r.diag.nCandidates).toBe(exp.diag.n_candidates);
      expect(r.diag.bestIndex).toBe(exp.diag.best_index);
      close(r.diag.bestCandidate, exp.diag.best_candidate);
      close(r.scale, exp.scale);
      expect(r.offset).toBe(exp.offset);
      close(r.clipMin, exp.clip_min);
      close(r.clipMax, exp.clip_max);
    });
  }
});
