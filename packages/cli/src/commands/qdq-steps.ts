import type { ResolvedConfig, CalibrationTable, Logger } from '@qcal/core';
import { UsageError } from '@qcal/core';
import type { CliIo } from '../io';

/** After calibration: QDQ models, evaluation and accuracy-driven fallback, per collector. */
export async function runQdqSteps(_cfg: ResolvedConfig, _tables: readonly { label: string; table: CalibrationTable }[], _io: CliIo, _logger: Logger): Promise<void> {
  throw new UsageError('--qdq is not available yet in this build');
}
