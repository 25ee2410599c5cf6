export { histogramKernels, setWasmKernels } from './histogram-kernels';
export type { HistogramKernels, MomentTally, NumpyScanResult } from './histogram-kernels';
