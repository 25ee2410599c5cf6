/** @qcal/collector-hfmg: Huawei AMCT HFMG. The plugin module exports its collector definitions and the pure kernels. */
import { hfmgCollector } from './hfmg-collector';

export { hfmgCollector };
export type { HfmgOptions } from './hfmg-collector';
export { histcInto, histcRun, histcRunFast, finiteRange, finiteRangeJs } from './histc';
export { createHfmgHistogram, hfmgAddBatch, hfmgCollectBatch, hfmgRebinInto, hfmgMergeHistograms, floorDivF32 } from './hfmg-histogram';
export type { HfmgHistogram } from './hfmg-histogram';
export { hfmgSearchRange, hfmgBinWidth, hfmgLoss, hfmgLossDirect, hfmgClipLoss, binMoments, amctScaleOffset, hfmgSearch } from './hfmg-search';
export type { HfmgResult, BinMoments } from './hfmg-search';
export const collectors = [hfmgCollector];
export default hfmgCollector;
