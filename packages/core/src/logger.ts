/** The narrow logging interface services and collectors receive. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
}

/** A logger that drops everything (library default, tests). */
export const silentLogger: Logger = { info() {}, warn() {}, debug() {} };

/** A logger writing to a stream (stderr for the CLI); debug only when `verbose`. */
export function streamLogger(stream: NodeJS.WritableStream, opts: { quiet?: boolean; verbose?: boolean } = {}): Logger {
  return {
    info: (m) => { if (!opts.quiet) stream.write(`${m}\n`); },
    warn: (m) => { stream.write(`warning: ${m}\n`); },
    debug: (m) => { if (opts.verbose) stream.write(`debug: ${m}\n`); },
  };
}
