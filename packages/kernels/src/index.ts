export { histogramKernels, readProbe, setWasmKernels } from './histogram-kernels';
export type { FiniteRange, HistogramKernels, MomentTally, NumpyScanResult, ReadProbe } from './histogram-kernels';
