import { ifmrCollector } from '@qcal/collector-ifmr';
import { checkCollectorProperties } from '../../../test-support/collector-properties';

it('any float32 batches give a finite, ordered, deterministic range; NaN/±Inf counted per element', async () => {
  await checkCollectorProperties(ifmrCollector, [{}, { withOffset: true }, { mode: 'exact', batchNum: 10 }, { numBits: 4, histogramBins: 1024 }]);
});
