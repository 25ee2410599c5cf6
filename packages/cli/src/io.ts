/** Where a command writes: stdout for results, stderr for logs and progress. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WriteStream;
  readonly cwd: string;
}

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() };
}

/** Prints a line to stdout. */
export function out(io: CliIo, text = ''): void {
  io.stdout.write(`${text}\n`);
}
