/** The collector contract is defined by @qcal/plugin-kit; engine modules import it from here. */
export { COLLECTOR_API_VERSION, defineCollector } from '@qcal/plugin-kit';
export type {
  TensorInfo,
  CollectorContext,
  PostCollectContext,
  TuningContext,
  TuningRequest,
  CalibrationCollector,
  CollectorDefinition,
  CollectorNeeds,
  CollectorState,
} from '@qcal/plugin-kit';
