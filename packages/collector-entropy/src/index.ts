/**
 * @qcal/collector-entropy: KL-divergence (entropy) calibration. The plugin module exports its
 * collector definition and the pure numeric kernels it is built from.
 */
import { entropyCollector } from './entropy-collector';

export { entropyCollector };
export type { EntropyOptions, EntropyMode, QuantizedDtype } from './entropy-collector';
export { scanFinite, scanFiniteJs, scanWithExtremes, tallyBatch } from './finite-scan';
export type { FiniteScan, RangeTally } from './finite-scan';
export { linspaceEdges32, histogramInto, histogramIntoJs, histogramScanInto, histogramScanIntoJs } from './numpy-histogram';
export type { HistogramScan } from './numpy-histogram';
export { pythonFloorDiv } from './python-floor-div';
export { signedHistogram, addToSignedHistogram, growthFor } from './mxnet-histogram';
export type { SignedHistogram } from './mxnet-histogram';
export { absHistogram, addToAbsHistogram, addAbsBatch, histcAbsInto, histcAbsIntoJs, torchLinspace0, torchArange0 } from './abs-histogram';
export type { AbsAccumulator } from './abs-histogram';
export type { AbsHistogram } from './abs-histogram';
export { mxnetKlThreshold } from './mxnet-kl';
export type { KlResult, KlPrecision } from './mxnet-kl';
export { mxnetDivergenceF32, f32Scratch } from './mxnet-kl-f32';
export type { F32Scratch } from './mxnet-kl-f32';
export { modeloptKlThreshold } from './modelopt-kl';
export type { ModeloptKlOptions } from './modelopt-kl';
export { mergeSignedHistograms, mergeAbsHistograms } from './merge-histograms';
export { tpumlirHistogram, addToTpumlirHistogram, tpumlirHistogramInto, tpumlirHistogramIntoJs, floorDivF32, TPUMLIR_SKIP_ABS, TPUMLIR_MAX_BINS } from './tpumlir-histogram';
export type { TpuMlirHistogram } from './tpumlir-histogram';
export { tpumlirPadHistogram, tpumlirKlThreshold, TPUMLIR_MAX_SEARCH_BINS } from './tpumlir-kl';
export type { TpuMlirKlResult } from './tpumlir-kl';
export const collectors = [entropyCollector];
export default entropyCollector;
