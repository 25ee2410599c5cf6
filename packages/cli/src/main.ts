import 'reflect-metadata';
import { exitCodeFor, messageOf, QcalError, UsageError, closest } from '@qcal/core';
import { MAIN_HELP } from './help';
import { out, processIo, type CliIo } from './io';
import { calibrateCommand } from './commands/calibrate';
import { inspectCommand } from './commands/inspect';
import { collectorsCommand } from './commands/collectors';
import { mergeCommand } from './commands/merge';
import { convertCommand } from './commands/convert';
import { quantizeCommand, evaluateCommand, sensitivityCommand } from './commands/int8';
import { reportCommand } from './commands/report';

type Command = (argv: readonly string[], io: CliIo) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  calibrate: calibrateCommand,
  inspect: inspectCommand,
  collectors: collectorsCommand,
  quantize: quantizeCommand,
  evaluate: evaluateCommand,
  sensitivity: sensitivityCommand,
  merge: mergeCommand,
  convert: convertCommand,
  report: reportCommand,
};

/**
 * Runs `qcal <command> ...` and returns the exit code: 0 done, 1 calibration failed, 2 bad usage,
 * config or input. Errors are printed as one clear message (the coded qcal errors), never as a
 * bare stack trace; QCAL_DEBUG=1 adds the stack.
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (!name || name === '--help' || name === '-h' || name === 'help') {
      out(io, MAIN_HELP);
      return name ? 0 : 2;
    }
    if (name === '--version' || name === '-v') {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      out(io, (require('../package.json') as { version: string }).version);
      return 0;
    }
    const command = COMMANDS[name];
    if (!command) {
      const hint = closest(name, Object.keys(COMMANDS));
      throw new UsageError(`unknown command "${name}"${hint ? ` (did you mean "${hint}"?)` : ''}; commands: ${Object.keys(COMMANDS).join(', ')}`);
    }
    return await command(rest, io);
  } catch (err) {
    reportError(err, io);
    return exitCodeFor(err);
  }
}

function reportError(err: unknown, io: CliIo): void {
  const code = err instanceof QcalError ? `[${err.code}] ` : '';
  io.stderr.write(`qcal: error: ${code}${messageOf(err)}\n`);
  if (err instanceof QcalError && err.problems.length > 1 && !messageOf(err).includes(err.problems[1]!)) {
    for (const p of err.problems) io.stderr.write(`  - ${p}\n`);
  }
  if (!(err instanceof QcalError) || process.env.QCAL_DEBUG) {
    io.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
  }
}
