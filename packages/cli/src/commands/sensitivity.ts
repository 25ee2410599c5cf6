import { UsageError } from '@qcal/core';
import type { CliIo } from '../io';

/** `qcal sensitivity`: per-layer harm of quantization (wired to core's sensitivity analysis). */
export async function sensitivityCommand(_argv: readonly string[], _io: CliIo): Promise<number> {
  throw new UsageError('qcal sensitivity is not available yet in this build');
}
