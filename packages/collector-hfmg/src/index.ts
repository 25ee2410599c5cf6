/** @qcal/collector-hfmg: Huawei AMCT HFMG (work in progress). */
export { histcInto, finiteRange } from './histc';
export { createHfmgHistogram, hfmgAddBatch, hfmgRebinInto, hfmgMergeHistograms, floorDivF32 } from './hfmg-histogram';
export type { HfmgHistogram } from './hfmg-histogram';
export { hfmgSearchRange, hfmgBinWidth, hfmgLoss, binMoments, amctScaleOffset, hfmgSearch } from './hfmg-search';
export type { HfmgResult, BinMoments } from './hfmg-search';
export const collectors = [];
