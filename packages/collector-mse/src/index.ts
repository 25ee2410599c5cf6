/** @qcal/collector-mse: MSE-optimal range (NVIDIA Model-Optimizer / TensorRT pytorch-quantization). */
import { mseCollector } from './mse-collector';

export { mseCollector };
export type { MseOptions } from './mse-collector';
export { modeloptMseAmax } from './modelopt-mse';
export const collectors = [mseCollector];
export default mseCollector;
