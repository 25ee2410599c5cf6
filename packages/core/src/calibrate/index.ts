export { calibrate, modelInputs, runFingerprint, QCAL_VERSION } from './calibrate';
export type { CalibrateOptions, CalibrateResult, CollectorResult } from './calibrate';
export { planCollectors, collectorLabel } from './plan';
export type { PlannedCollector, RunSelection } from './plan';
