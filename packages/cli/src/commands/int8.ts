import { UsageError } from '@qcal/core';
import type { CliIo } from '../io';

/** `qcal quantize`, `qcal evaluate`, `qcal sensitivity` (wired to the QDQ writer and evaluator). */
export async function quantizeCommand(_argv: readonly string[], _io: CliIo): Promise<number> {
  throw new UsageError('qcal quantize is not available yet in this build');
}
export async function evaluateCommand(_argv: readonly string[], _io: CliIo): Promise<number> {
  throw new UsageError('qcal evaluate is not available yet in this build');
}
export async function sensitivityCommand(_argv: readonly string[], _io: CliIo): Promise<number> {
  throw new UsageError('qcal sensitivity is not available yet in this build');
}
