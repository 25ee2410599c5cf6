import type { TensorInfo, TuningContext } from '../collector';
import type { Logger } from '../logger';
import type { OnnxModel } from '../onnx/model';
import type { GraphIndex } from '../onnx/graph-index';
import type { OpenedData } from '../data';
import type { SessionSettings } from '../runner/session';
import { CalibrationError } from '../errors';

export interface TuningContextArgs {
  readonly model: OnnxModel;
  readonly index: GraphIndex;
  /** The calibration data; `batches()` starts over, the first tune samples are used. */
  readonly data: OpenedData;
  /** The tensors the tuning collector calibrates. */
  readonly tensors: readonly TensorInfo[];
  /** The tuning collector's options (`tuneNum`: how many samples to hold; default 5). */
  readonly options: Readonly<Record<string, unknown>>;
  readonly session?: SessionSettings;
  readonly logger: Logger;
}

export interface ReleasableTuningContext extends TuningContext {
  release(): Promise<void>;
}

/** Builds the tuning context (FP32 reference inputs/outputs of consumer ops, one-op sessions). */
export async function createTuningContext(_args: TuningContextArgs): Promise<ReleasableTuningContext> {
  throw new CalibrationError('auto-tune support is not available in this build');
}
