import { hfmgCollector } from '@qcal/collector-hfmg';
import { checkCollectorProperties } from '../../../test-support/collector-properties';

it('any float32 batches give a finite, ordered, deterministic range; NaN/±Inf counted per element', async () => {
  await checkCollectorProperties(hfmgCollector, [{}, { withOffset: true }, { numOfBins: 1024, numBits: 4 }]);
});
