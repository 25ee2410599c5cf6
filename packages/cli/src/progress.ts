/**
 * A one-line progress bar on stderr (samples done, rate, ETA), drawn only when stderr is a
 * terminal and not --quiet; otherwise silent, so logs and CI output stay clean.
 */
export interface Progress {
  update(done: number, total: number | undefined): void;
  done(): void;
}

export function createProgress(label: string, stream: NodeJS.WriteStream = process.stderr, enabled = Boolean(stream.isTTY)): Progress {
  if (!enabled) return { update() {}, done() {} };
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
      line = `${label} ${done} samples  ${rate.toFixed(1)}/s`;
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
