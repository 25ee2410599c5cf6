export { evaluateModels, dequantizedMap } from './evaluate-models';
export type { EvaluateOptions, EvaluationReport } from './evaluate-models';
export { formatEvaluation, formatEvaluationSummary, evaluationToJson } from './format-evaluation';
export { inspectKernels, INTEGER_KERNEL_OPS } from './kernel-usage';
export type { KernelUsage } from './kernel-usage';
export { accumulate, createAccumulator, finishMetrics, compareWorstFirst } from './metrics';
export type { MetricAccumulator, TensorMetrics } from './metrics';
export { exposeTensors } from './session-io';
export type { ModelSource, EvaluationItem } from './session-io';
