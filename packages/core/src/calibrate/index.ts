export { calibrate, prepareCalibration, executeCalibration, collectPass, finishCalibration, createInstances, modelInputs, runFingerprint, QCAL_VERSION } from './calibrate';
export type { CalibrateOptions, CalibrateResult, CollectorResult, PreparedCalibration, PassCounts } from './calibrate';
export { planCollectors, collectorLabel } from './plan';
export type { PlannedCollector, RunSelection } from './plan';
