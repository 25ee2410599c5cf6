export { compilePatterns, configError } from './compile-patterns';
export type { CompiledPattern } from './compile-patterns';
export { selectTensors, explainSelection } from './select-tensors';
export type { TensorFilter, SelectionExplanation } from './select-tensors';
