/** Layer sensitivity and accuracy-driven FP32 fallback (issue 11). */
export { measureSensitivity, rankLayers } from './measure-sensitivity';
export type { SensitivityOptions, SensitivityReport, LayerSensitivity, SensitivityView } from './measure-sensitivity';
export { searchFallback } from './search-fallback';
export type { FallbackOptions, FallbackResult, FallbackTrial } from './search-fallback';
export { applyFallback, fallbackExclusions, withoutFallback, tableWithout } from './apply-fallback';
export type { FloatFallbackMeta } from './apply-fallback';
export { cosineMetric, sqnrMetric, BUILTIN_METRICS, loadFidelityMetric } from './fidelity-metric';
export type { FidelityMetric, ModelOutputs, OutputTensor } from './fidelity-metric';
export { buildSwitchModel, SWITCH_INPUT } from './switch-model';
export type { SwitchModel } from './switch-model';
export { createSensitivityProbe } from './sensitivity-probe';
export type { SensitivityProbe } from './sensitivity-probe';
export { collectEvalSet, splitEvalSet } from './eval-set';
export type { EvalItem, EvalSet } from './eval-set';
export { formatSensitivity, formatFallback, sensitivityToJson } from './format-sensitivity';
export type { ModelInput } from './model-input';
export { chooseCollectorPerLayer } from './choose-collectors';
export type { CollectorChoiceOptions, CollectorChoice, CollectorChoiceResult } from './choose-collectors';
