/** @qcal/cli: the `qcal` command as a library (for tests and scripts). */
export { main } from './main';
export type { CliIo } from './io';
export { runCalibrate } from './commands/calibrate';
