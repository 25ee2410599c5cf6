import { histogramKernels } from '@qcal/kernels';

/**
 * Min and max of a float32 array. NaN values are skipped and counted; ±Infinity values are left
 * out of the range (a range must stay finite to be quantizable) and counted. With no finite value
 * the result is min = +Infinity, max = -Infinity. In WebAssembly (@qcal/kernels `finiteRange` with
 * limit +Infinity, the same results) when built and the array is long enough to pay for the call.
 */
export function finiteMinMax(data: Float32Array): { min: number; max: number; nan: number; inf: number } {
  const k = data.length >= 256 ? histogramKernels() : null;
  return k ? k.finiteRange(data, Infinity) : finiteMinMaxJs(data);
}

/** {@link finiteMinMax} in JavaScript: the reference of the WebAssembly kernel, and its fallback. */
export function finiteMinMaxJs(data: Float32Array): { min: number; max: number; nan: number; inf: number } {
  let min = Infinity;
  let max = -Infinity;
  let nan = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v !== v) { nan++; continue; }
    if (v < min) min = v;
    if (v > max) max = v;
  }
  let inf = 0;
  if (min === -Infinity || max === Infinity) {
    // Rare path: infinities present; recompute over finite values only.
    min = Infinity;
    max = -Infinity;
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (v !== v) continue;
      if (v === Infinity || v === -Infinity) { inf++; continue; }
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  return { min, max, nan, inf };
}
