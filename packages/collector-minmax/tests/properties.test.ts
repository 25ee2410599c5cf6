import { minmaxCollector } from '@qcal/collector-minmax';
import { checkCollectorProperties } from '../../../test-support/collector-properties';

it('any float32 batches give a finite, ordered, deterministic range; NaN/±Inf counted per element', async () => {
  await checkCollectorProperties(minmaxCollector, [{}, { symmetric: true }, { movingAverage: true }]);
});
