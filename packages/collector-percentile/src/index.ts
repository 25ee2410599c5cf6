/** @qcal/collector-percentile: percentile calibration (onnxruntime's and Model-Optimizer's). */
import { percentileCollector } from './percentile-collector';

export { percentileCollector };
export type { PercentileOptions, PercentileMode } from './percentile-collector';
export { ORT_MAX_BINS, ortAbsHistogram, addToOrtAbsHistogram, ortAbsFill, ortAbsFillJs, ortPercentileRange, numpyArangeF32, absFinite } from './ort-abs-histogram';
export type { OrtAbsHistogram } from './ort-abs-histogram';
export { histogramPercentile } from './histogram-percentile';
export const collectors = [percentileCollector];
export default percentileCollector;
