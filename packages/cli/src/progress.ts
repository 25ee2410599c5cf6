/**
 * Progress on stderr: a one-line bar (samples done, rate, ETA) when stderr is a terminal; outside
 * a terminal (logs, CI) a plain line every {@link LINE_EVERY_MS} of a long phase and one when it
 * ends (`calibrating: 40/100 samples, 12 s`), so logs show where time goes while short runs print
 * nothing; nothing with --quiet.
 */
export interface Progress {
  update(done: number, total: number | undefined): void;
  done(): void;
}

/** How often a non-terminal progress line is written. */
export const LINE_EVERY_MS = 10_000;

/** `bar` on a terminal, `lines` elsewhere, `off` when quiet. */
export function progressMode(stream: NodeJS.WriteStream, quiet: boolean | undefined): 'bar' | 'lines' | 'off' {
  return quiet ? 'off' : stream.isTTY ? 'bar' : 'lines';
}

export function createProgress(label: string, stream: NodeJS.WriteStream = process.stderr, mode: 'bar' | 'lines' | 'off' | boolean = Boolean(stream.isTTY), unit = 'samples'): Progress {
  if (mode === false || mode === 'off') return { update() {}, done() {} };
  if (mode === 'lines') return lineProgress(label, stream, Date.now(), unit);
  const start = Date.now();
  let last = 0;
  let drawn = false;
  const draw = (done: number, total: number | undefined): void => {
    const secs = (Date.now() - start) / 1000;
    const rate = secs > 0 ? done / secs : 0;
    const width = 28;
    let line: string;
    if (total) {
      const frac = Math.min(1, done / total);
      const filled = Math.round(frac * width);
      const eta = rate > 0 ? (total - done) / rate : 0;
      line = `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} samples  ${rate.toFixed(1)}/s  ETA ${fmtSecs(eta)}`;
    } else {
      line = `${label} ${done} ${unit}  ${rate.toFixed(1)}/s`;
    }
    stream.write(`\r${line.slice(0, (stream.columns || 100) - 1)}\x1b[K`);
    drawn = true;
  };
  return {
    update(done, total) {
      const now = Date.now();
      if (now - last < 100 && done !== total) return;
      last = now;
      draw(done, total);
    },
    done() {
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}

function fmtSecs(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${Math.round(s % 60)}s` : `${s.toFixed(0)}s`;
}

/** Plain progress lines for non-terminals (see {@link createProgress}). */
function lineProgress(label: string, stream: NodeJS.WriteStream, start: number, unit: string): Progress {
  let last = start;
  let printed = false;
  let state = { done: 0, total: undefined as number | undefined };
  const line = (suffix = ''): void => {
    const secs = (Date.now() - start) / 1000;
    stream.write(`${label}: ${state.done}${state.total ? `/${state.total}` : ''} ${unit}, ${secs.toFixed(0)} s${suffix}\n`);
    printed = true;
  };
  return {
    update(done, total) {
      state = { done, total };
      const now = Date.now();
      if (now - last >= LINE_EVERY_MS) { last = now; line(); }
    },
    done() {
      if (printed || Date.now() - start >= LINE_EVERY_MS) line(' (done)');
    },
  };
}
