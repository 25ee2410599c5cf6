/** @qcal/collector-ifmr: Huawei AMCT IFMR. The plugin module exports its collector definitions and the pure kernels. */
import { ifmrCollector } from './ifmr-collector';

export { ifmrCollector };
export type { IfmrOptions } from './ifmr-collector';
export { amctRatios } from './ratios';
export { ifmrSearch, ifmrSelect, ifmrCandidates, ifmrInit, ifmrOutputs, quantizationMse, DEFAULT_IFMR_PARAMS } from './ifmr-search';
export type { IfmrParams, IfmrResult, IfmrCandidate } from './ifmr-search';
export { kthValue, percentileRank } from './percentile';
export {
  createMomentHistogram, addToMomentHistogram, mergeMomentHistograms, histogramKth, latticeExponent, binEdges,
} from './moment-histogram';
export type { MomentHistogram } from './moment-histogram';
export { histogramMse, ifmrSearchHistogram } from './ifmr-histogram';
export const collectors = [ifmrCollector];
export default ifmrCollector;
