/** The narrow logging interface services and collectors receive. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
}

/** A logger that drops everything (library default, tests). */
export const silentLogger: Logger = { info() {}, warn() {}, debug() {} };
