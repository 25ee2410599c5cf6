/**
 * What qcal is waiting for right now (loading a config file, a plugin hook), so that a promise
 * that never settles is reported instead of the process quietly ending with exit 0 when Node finds
 * its event loop empty. The CLI checks {@link pendingWork} on `beforeExit`.
 */
export interface PendingWork {
  readonly what: string;
  /** Exit code for the report: 2 (bad config or plugin at load), 1 (a run failed). */
  readonly exitCode: 1 | 2;
  readonly code: 'QCAL_CONFIG' | 'QCAL_PLUGIN';
}

const pending: PendingWork[] = [];

/** Awaits `p`, recorded as pending work until it settles. */
export async function tracked<T>(work: PendingWork, p: Promise<T>): Promise<T> {
  pending.push(work);
  try {
    return await p;
  } finally {
    const i = pending.lastIndexOf(work);
    if (i >= 0) pending.splice(i, 1);
  }
}

/** The innermost pending work, if any. */
export function pendingWork(): PendingWork | undefined {
  return pending[pending.length - 1];
}

/**
 * Races `p` against a timer: past `ms`, rejects with `onTimeout()`. The timer is cleared when `p`
 * settles. The timer does not keep the process alive by itself: when nothing else can settle `p`,
 * Node's event loop empties and the CLI reports the pending work at once (see {@link pendingWork}).
 */
export function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  if (!(ms > 0) || !Number.isFinite(ms)) return p;
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(onTimeout()), ms); timer.unref(); });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
