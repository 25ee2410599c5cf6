/** The error hierarchy is defined by @qcal/plugin-kit (plugins throw the same classes); engine modules import it from here. */
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
} from '@qcal/plugin-kit';
export type { QcalErrorCode } from '@qcal/plugin-kit';
