/**
 * Fault injection, for qcal's own fault tests only. `QCAL_FAULT` holds comma-separated
 * `<fault>@<point>[#<n>]` items: at the n-th time (default the first) the process reaches `point`,
 * `kill` sends itself SIGKILL (a `kill -9` between two writes) and `enospc` / `eio` / `erofs`
 * throw the error a full, failing or read-only disk gives. Unset (every normal run), {@link faultPoint} does nothing.
 *
 * Points: `output-set.open` (creating the staging area), `output-set.write` (before each staged file), `output-set.before-swap`,
 * `output-set.mid-swap` (old outputs moved aside, new ones not yet in place),
 * `output-set.after-swap`, `output-set.in-place-rename` (before each rename of an in-place commit).
 */
const hits = new Map<string, number>();

export function faultPoint(point: string): void {
  const spec = process.env.QCAL_FAULT;
  if (!spec) return;
  const n = (hits.get(point) ?? 0) + 1;
  hits.set(point, n);
  for (const item of spec.split(',')) {
    const m = /^(kill|enospc|eio|erofs)@([\w.-]+)(?:#(\d+))?$/.exec(item.trim());
    if (!m || m[2] !== point || Number(m[3] ?? 1) !== n) continue;
    if (m[1] === 'kill') {
      process.kill(process.pid, 'SIGKILL');
      // SIGKILL to oneself is delivered before kill(2) returns; never go on past this point.
      for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
    }
    const code = m[1]!.toUpperCase();
    const what: Record<string, string> = { ENOSPC: 'no space left on device', EIO: 'i/o error', EROFS: 'read-only file system' };
    const err = new Error(`${code}: ${what[code]}, write (injected at ${point})`) as NodeJS.ErrnoException;
    err.code = code;
    throw err;
  }
}
