import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { KlResult } from './mxnet-kl';
import { runKlTask, type KlTask } from './kl-task';

/** Below this many searches, starting workers (~50 ms each) costs more than it saves. */
const MIN_TASKS_FOR_WORKERS = 8;

/** The worker script, when running from the built package (not from sources under ts-jest). */
function workerScript(): string | undefined {
  if (process.env.JEST_WORKER_ID !== undefined) return undefined;
  const file = join(__dirname, 'kl-worker.js');
  return existsSync(file) ? file : undefined;
}

/** Threads to use when the caller does not say: the machine's parallelism, at most 4. */
export function defaultKlThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

/**
 * Runs the searches on `threads` worker threads (results in task order); in-thread when
 * `threads` ≤ 1, when there are few tasks, or when no built worker script exists (sources run by
 * ts-jest). Workers take the next task as they finish one, largest histograms first; they are
 * terminated before this returns, also on error.
 */
export async function runKlTasks(tasks: readonly KlTask[], threads: number): Promise<KlResult[]> {
  // Tensors with the same histogram (a reshape or squeeze of another calibrated tensor: 29 of the
  // PP-OCRv4 recognizer's 181) are searched once.
  const { distinct, of } = distinctTasks(tasks);
  if (distinct.length < tasks.length) {
    const results = await runKlTasks(distinct, threads);
    return of.map((k) => results[k]!);
  }
  const script = workerScript();
  const nWorkers = Math.min(threads, tasks.length);
  if (!script || nWorkers <= 1 || tasks.length < MIN_TASKS_FOR_WORKERS) return tasks.map(runKlTask);
  const order = tasks.map((_, k) => k).sort((x, y) => tasks[y]!.counts.length - tasks[x]!.counts.length);
  const results: KlResult[] = new Array(tasks.length);
  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let next = 0;
      let done = 0;
      const feed = (w: Worker): void => {
        if (next < order.length) { const id = order[next++]!; w.postMessage({ id, task: tasks[id] }); }
      };
      for (let k = 0; k < nWorkers; k++) {
        const w = new Worker(script);
        workers.push(w);
        w.on('message', (msg: { id: number; result: KlResult }) => {
          results[msg.id] = msg.result;
          if (++done === tasks.length) resolve();
          else feed(w);
        });
        w.on('error', reject);
        w.on('exit', (code) => { if (done < tasks.length) reject(new Error(`entropy: KL worker exited with code ${code}`)); });
        feed(w);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}

/** The distinct tasks (same kind, options, counts and edges: the same search) and, per task, its index among them. */
export function distinctTasks(tasks: readonly KlTask[]): { distinct: KlTask[]; of: number[] } {
  const distinct: KlTask[] = [];
  const of: number[] = [];
  // Candidates by a cheap key, then compared element by element.
  const byKey = new Map<string, number[]>();
  for (const t of tasks) {
    const key = `${t.kind}|${t.counts.length}|${t.kind === 'mxnet' ? t.numQuantizedBins : JSON.stringify(t.options)}|${sum(t.counts)}|${t.edges[0]}|${t.edges[t.edges.length - 1]}`;
    let same = byKey.get(key);
    if (!same) byKey.set(key, (same = []));
    const k = same.find((d) => equalArrays(distinct[d]!.counts, t.counts) && equalArrays(distinct[d]!.edges, t.edges));
    if (k !== undefined) of.push(k);
    else {
      same.push(distinct.length);
      of.push(distinct.length);
      distinct.push(t);
    }
  }
  return { distinct, of };
}

function sum(a: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
}

const is = Object.is;

/** Same length and the same values (Object.is: NaN equals NaN, 0 and -0 differ). */
function equalArrays(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!is(a[i], b[i])) return false;
  return true;
}
