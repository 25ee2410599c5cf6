/**
 * @qcal/plugin-kit: everything a qcal collector plugin needs, and nothing heavy — the collector
 * contract (including the tuning context offered to auto-tune), `defineCollector`, the options
 * schema, the error classes with their codes, the Logger interface, the table contract, snapshot
 * encoding and a seeded PRNG. The testkit is `@qcal/plugin-kit/testkit`. `@qcal/core` (the engine)
 * depends on this package and re-exports all of it.
 */
export type { ActivationTensor, TensorRange } from './tensor';
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
} from './collector';
export { COLLECTOR_API_VERSION, defineCollector } from './collector';
export type { OptionSpec, OptionsSchema } from './options-schema';
export { validateOptions, closest, editDistance } from './options-schema';
export type { Logger } from './logger';
export { silentLogger } from './logger';
export {
  QcalError,
  UsageError,
  ConfigError,
  ModelError,
  DataError,
  PluginError,
  TableError,
  CalibrationError,
  exitCodeFor,
  messageOf,
} from './errors';
export type { QcalErrorCode } from './errors';
export type { CalibrationTable, TableEntry, TableMeta } from './table';
export { validateTable } from './table';
export type { EncodedArray } from './array-codec';
export { encodeArray, decodeArray, decodeFloat64 } from './array-codec';
export { mulberry32 } from './mulberry32';
