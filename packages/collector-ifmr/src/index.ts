/** @qcal/collector-ifmr: Huawei AMCT IFMR (work in progress). */
export { amctRatios } from './ratios';
export { ifmrSearch, ifmrSelect, ifmrCandidates, ifmrInit, ifmrOutputs, quantizationMse, DEFAULT_IFMR_PARAMS } from './ifmr-search';
export type { IfmrParams, IfmrResult, IfmrCandidate } from './ifmr-search';
export { kthValue, percentileRank } from './percentile';
export const collectors = [];
