/** Auto-tune support for collectors that declare `needs.tuning` (see TuningContext). */
export { createTuningContext } from './create-tuning-context';
export type { TuningContextArgs, ReleasableTuningContext, TuningStats } from './create-tuning-context';
export { fakeQuantActivation, fakeQuantWeightPerChannel, roundHalfEven, accumulateDistance, distanceOf } from './fake-quant';
export type { DistanceSums } from './fake-quant';
export { buildOpModel, weightInput } from './op-model';
export type { OpModel, OpModelSkip } from './op-model';
export { isBatchable } from './batchable';
