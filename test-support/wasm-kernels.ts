import { histogramKernels, type HistogramKernels } from '@qcal/kernels';

/** The built WebAssembly histogram kernels; a test that compares them with the JavaScript ones fails clearly when they are not built. */
export function builtKernels(): HistogramKernels {
  const kernels = histogramKernels();
  if (!kernels) throw new Error('the WebAssembly kernels are not built: run `npm run build` (or `npm run build:wasm -w @qcal/kernels`)');
  return kernels;
}
