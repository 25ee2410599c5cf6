/** @qcal/collector-autotune: tpu-mlir auto-tune over any base collector. The plugin module exports its collector definitions. */
import { autotuneCollector } from './autotune-collector';

export { autotuneCollector };
export type { AutotuneOptions, ConsumerTuning } from './autotune-collector';
export { tuneCandidates, firstMinIndex } from './candidates';
export { finiteAbsMax, finiteAbsMaxJs } from './finite-abs-max';
export const collectors = [autotuneCollector];
export default autotuneCollector;
