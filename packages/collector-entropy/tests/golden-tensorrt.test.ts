import { runCollector, expectClose } from '@qcal/plugin-kit/testkit';
import { absHistogram, addToAbsHistogram, modeloptKlThreshold, scanFinite, type AbsHistogram } from '@qcal/collector-entropy';
import { golden, goldenBatches } from '../../../test-support/paths';
import { entropyCollector } from '@qcal/collector-entropy';

const CASES = ['constant', 'gaussian', 'gaussian_outliers', 'growing_range', 'laplace', 'relu_like', 'zeros_spike'];

interface ModeloptGolden {
  batches: number[][];
  params: { num_bins: number; unsigned: boolean; start_bin: number; stride: number };
  expected: {
    entropy: { amax: number; diag: { best_bins: number } };
    histogram: { num_bins: number; hist: number[]; edge_width: number; last_edge: number; num_edges: number };
  };
}

describe('tensorrt mode against golden/modelopt', () => {
  it.each(CASES)('%s: histogram and entropy amax', async (name) => {
    const g = golden<ModeloptGolden>('modelopt', name);
    let h: AbsHistogram | undefined;
    for (const b of goldenBatches(g)) {
      const s = scanFinite(b);
      h = h ? addToAbsHistogram(h, b, s.absMax) : absHistogram(b, s.absMax, g.params.num_bins);
    }
    const H = g.expected.histogram;
    expect(Array.from(h!.counts)).toEqual(H.hist);
    expect(h!.edges.length).toBe(H.num_edges);
    expect(h!.edges[h!.edges.length - 1]).toBe(H.last_edge);
    expect(Math.fround(h!.edges[1]! - h!.edges[0]!)).toBe(H.edge_width);
    const r = modeloptKlThreshold(h!.counts, h!.edges, { numBits: 8, unsigned: g.params.unsigned, startBin: g.params.start_bin, stride: g.params.stride });
    expect(r.index).toBe(g.expected.entropy.diag.best_bins);
    expectClose(r.threshold, g.expected.entropy.amax, { rtol: 1e-5 });
    const t = (await runCollector(entropyCollector, { batches: { t: goldenBatches(g) }, options: { mode: 'tensorrt', quantizedDtype: 'int8' } })).t!;
    expectClose(t.max, g.expected.entropy.amax, { rtol: 1e-5 });
    expect(t.min).toBe(-t.max);
  });
});
