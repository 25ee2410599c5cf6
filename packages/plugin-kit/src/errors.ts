/**
 * One error hierarchy with stable codes. Every message says what was found, what was expected
 * and, where it helps, what to do. The CLI maps codes to exit codes with {@link exitCodeFor}.
 */
export type QcalErrorCode =
  | 'QCAL_USAGE'
  | 'QCAL_CONFIG'
  | 'QCAL_MODEL'
  | 'QCAL_DATA'
  | 'QCAL_PLUGIN'
  | 'QCAL_TABLE'
  | 'QCAL_CALIBRATION';

export class QcalError extends Error {
  readonly code: QcalErrorCode;
  /** Individual problems when several were found at once (config validation). */
  readonly problems: readonly string[];
  constructor(code: QcalErrorCode, message: string, options?: { cause?: unknown; problems?: readonly string[] }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.problems = options?.problems ?? [];
  }
}

/** Bad command-line usage (unknown flag, missing argument). Exit 2. */
export class UsageError extends QcalError {
  constructor(message: string, options?: { cause?: unknown }) { super('QCAL_USAGE', message, options); }
}
/** The configuration (file or flags) is invalid. Exit 2. */
export class ConfigError extends QcalError {
  constructor(message: string, options?: { cause?: unknown; problems?: readonly string[] }) { super('QCAL_CONFIG', message, options); }
}
/** The ONNX model cannot be read or does not fit. Exit 2. */
export class ModelError extends QcalError {
  constructor(message: string, options?: { cause?: unknown }) { super('QCAL_MODEL', message, options); }
}
/** Calibration or evaluation data is missing, unreadable or does not fit the model. Exit 2. */
export class DataError extends QcalError {
  constructor(message: string, options?: { cause?: unknown }) { super('QCAL_DATA', message, options); }
}
/** A plugin cannot be found, is malformed, or one of its hooks failed. Exit 2 when loading, 1 when running. */
export class PluginError extends QcalError {
  readonly plugin: string;
  readonly duringRun: boolean;
  constructor(plugin: string, message: string, options?: { cause?: unknown; duringRun?: boolean }) {
    super('QCAL_PLUGIN', message, options);
    this.plugin = plugin;
    this.duringRun = options?.duringRun ?? false;
  }
}
/** A calibration table (or snapshot) is malformed or does not match the model. Exit 2. */
export class TableError extends QcalError {
  constructor(message: string, options?: { cause?: unknown }) { super('QCAL_TABLE', message, options); }
}
/** Calibration itself failed (inference error, a collector failed at run time). Exit 1. */
export class CalibrationError extends QcalError {
  constructor(message: string, options?: { cause?: unknown }) { super('QCAL_CALIBRATION', message, options); }
}

/** Exit code for an error: 2 for bad usage/config/input, 1 for a failed calibration. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof PluginError) return err.duringRun ? 1 : 2;
  if (err instanceof QcalError) return err.code === 'QCAL_CALIBRATION' ? 1 : 2;
  return 1;
}

/** The message of any thrown value. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
