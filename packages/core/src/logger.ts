/** The Logger contract lives in @qcal/plugin-kit; the engine adds a stream logger for the CLI. */
import type { Logger } from '@qcal/plugin-kit';

export type { Logger } from '@qcal/plugin-kit';
export { silentLogger } from '@qcal/plugin-kit';

/** A logger writing to a stream (stderr for the CLI); debug only when `verbose`. */
export function streamLogger(stream: NodeJS.WritableStream, opts: { quiet?: boolean; verbose?: boolean } = {}): Logger {
  return {
    info: (m) => { if (!opts.quiet) stream.write(`${m}\n`); },
    warn: (m) => { stream.write(`warning: ${m}\n`); },
    debug: (m) => { if (opts.verbose) stream.write(`debug: ${m}\n`); },
  };
}
