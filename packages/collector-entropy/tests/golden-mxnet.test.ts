import { runCollector, expectClose } from '@qcal/plugin-kit/testkit';
import { addToSignedHistogram, entropyCollector, mxnetKlThreshold, scanFinite, signedHistogram, type SignedHistogram } from '@qcal/collector-entropy';
import { golden, goldenBatches } from '../../../test-support/paths';

const CASES = ['gaussian', 'growing_range', 'laplace_outliers', 'relu_like', 'sparse_with_zero_bins', 'spiky_constant_background'];

interface EntropyGolden {
  batches: number[][];
  num_bins: number;
  hist: number[];
  hist_edges: number[];
  min: number;
  max: number;
  threshold_int8_255: number;
  threshold_uint8_511?: number;
}

function feed(batches: Float32Array[]): SignedHistogram {
  let h: SignedHistogram | undefined;
  for (const b of batches) {
    const scan = scanFinite(b);
    h = h ? addToSignedHistogram(h, b, scan) : signedHistogram(b, scan.absMax, 8001);
  }
  return h!;
}

describe('mxnet mode against golden/entropy', () => {
  it.each(CASES)('%s: histogram, edges and thresholds', async (name) => {
    const g = golden<EntropyGolden>('entropy', name);
    const h = feed(goldenBatches(g));
    expect(h.counts.length).toBe(g.num_bins);
    expect(Array.from(h.counts)).toEqual(g.hist);
    expect(Array.from(h.edges)).toEqual(g.hist_edges);
    const r = mxnetKlThreshold(h.counts, h.edges, 255);
    expectClose(r.threshold, g.threshold_int8_255, { rtol: 1e-6 });
    if (g.threshold_uint8_511 !== undefined) {
      expectClose(mxnetKlThreshold(h.counts, h.edges, 511).threshold, g.threshold_uint8_511, { rtol: 1e-6 });
    }
    // Through the collector: int8 gives (-T, T) from 255 bins.
    const t = (await runCollector(entropyCollector, { batches: { t: goldenBatches(g) }, options: { quantizedDtype: 'int8' } })).t!;
    expectClose(t.max, g.threshold_int8_255, { rtol: 1e-6 });
    expect(t.min).toBe(-t.max);
    expect(t).toMatchObject({ mode: 'mxnet', numBins: g.num_bins, nanCount: 0, infCount: 0 });
  });

  it('uint8 / auto: a non-negative tensor gets (0, T) from 511 quantized bins', async () => {
    const g = golden<EntropyGolden>('entropy', 'relu_like');
    for (const quantizedDtype of ['auto', 'uint8']) {
      const t = (await runCollector(entropyCollector, { batches: { t: goldenBatches(g) }, options: { quantizedDtype } })).t!;
      expect(t.min).toBe(0);
      expectClose(t.max, g.threshold_uint8_511!, { rtol: 1e-6 });
    }
    // default options are auto
    const d = (await runCollector(entropyCollector, { batches: { t: goldenBatches(g) } })).t!;
    expectClose(d.max, g.threshold_uint8_511!, { rtol: 1e-6 });
  });
});
