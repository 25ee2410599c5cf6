import { entropyCollector } from '@qcal/collector-entropy';
import { checkCollectorProperties } from '../../../test-support/collector-properties';

describe('any float32 batches give a finite, ordered, deterministic range; NaN/±Inf counted per element', () => {
  it.each([
    // Runs per mode: the KL search over grown histograms (up to MAX_GROWN_BINS) makes a run slow.
    ['mxnet', { threads: 1 }, 15],
    ['mxnet int8', { quantizedDtype: 'int8', threads: 1 }, 10],
    ['tensorrt', { mode: 'tensorrt', threads: 1 }, 20],
    ['tpumlir', { mode: 'tpumlir', threads: 1 }, 40],
  ] as const)('%s', async (_name, options, runs) => {
    await checkCollectorProperties(entropyCollector, [options], runs);
  });
});
