import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { CalibrationError } from '../errors';
import type { PointwiseTask, SampleTensor } from './pointwise-eval';

/** Main thread → worker. */
export type PointwiseRequest =
  | { type: 'job'; id: number; tensors: Record<string, SampleTensor>; tasks: PointwiseTask[] }
  /**
   * Σᵢ (ref[i] − out[j·m + i])² per candidate j < k, summed over the op's outputs (refs[o], outs[o]).
   * `refs` come with a pair's first chunk and are kept under `key` until the next elementwise job.
   */
  | { type: 'diff'; id: number; key: number; refs: SampleTensor[] | undefined; outs: Float32Array[]; k: number }
  | { type: 'close' };

/** Worker → main thread: per task its sums (null: the shapes do not fit, run the op instead), ‖ref‖₁ per output. */
export type PointwiseReply =
  | { type: 'done'; id: number; sums: (Float64Array | null)[]; l1: Record<string, number>; ms: number; wasm: boolean }
  | { type: 'error'; id: number; message: string };

/**
 * The worker script, when running from the built package. Under ts-jest (sources) there is none,
 * unless a test sets QCAL_TEST_TUNE_WORKER: then the built one (`tsc -b` runs before jest).
 */
function workerScript(): string | undefined {
  const candidates = [join(__dirname, 'pointwise-worker.js')];
  if (process.env.QCAL_TEST_TUNE_WORKER) candidates.push(join(__dirname, '..', '..', 'dist', 'tuning', 'pointwise-worker.js'));
  else if (process.env.JEST_WORKER_ID !== undefined) return undefined;
  return candidates.find((f) => existsSync(f));
}

/**
 * One worker thread for auto-tune's elementwise pairs: onnxruntime-node runs `session.run` on the
 * JavaScript main thread, so the elementwise pairs of a sample (in WebAssembly) can only run beside
 * the other consumers' op runs on a thread of their own. The sample's tensors are copied to it
 * (structured clone: the main thread drops the sample when it moves on); the sums come back moved.
 */
export class PointwiseWorker {
  private readonly worker: Worker;
  private readonly waits = new Map<number, { resolve: (r: Extract<PointwiseReply, { type: 'done' }>) => void; reject: (e: Error) => void }>();
  private id = 0;
  private failure: Error | undefined;
  private exited = false;

  private constructor(script: string) {
    this.worker = new Worker(script);
    this.worker.unref();
    this.worker.on('message', (m: PointwiseReply) => {
      const w = this.waits.get(m.id);
      this.waits.delete(m.id);
      if (!this.waits.size) this.worker.unref();
      if (!w) return;
      if (m.type === 'done') w.resolve(m);
      else w.reject(new CalibrationError(`auto-tune: elementwise worker: ${m.message}`));
    });
    this.worker.on('error', (e) => this.fail(new CalibrationError(`auto-tune: elementwise worker failed: ${e.message}`, { cause: e })));
    this.worker.on('exit', (code) => {
      this.exited = true;
      // An exit with jobs out (or with an error code) fails them: nothing will answer.
      if (code !== 0 || this.waits.size) this.fail(new CalibrationError(`auto-tune: elementwise worker exited with code ${code}`));
    });
  }

  /** A started worker, or undefined when there is no built worker script. */
  static start(): PointwiseWorker | undefined {
    const script = workerScript();
    return script ? new PointwiseWorker(script) : undefined;
  }

  /**
   * Evaluates `tasks` on the given tensors of one sample: copied now (the caller may drop them at
   * once), except those whose buffers are in `transfer` (moved: detached here) or in shared memory.
   */
  run(tensors: Record<string, SampleTensor>, tasks: PointwiseTask[], transfer: ArrayBuffer[] = []): Promise<Extract<PointwiseReply, { type: 'done' }>> {
    if (this.exited) this.fail(new CalibrationError('auto-tune: the elementwise worker has exited'));
    if (this.failure) return Promise.reject(this.failure);
    const id = ++this.id;
    return new Promise((resolve, reject) => {
      this.waits.set(id, { resolve, reject });
      // Referenced while a job is out: awaiting its reply must keep the process alive.
      this.worker.ref();
      this.worker.postMessage({ type: 'job', id, tensors, tasks } satisfies PointwiseRequest, transfer);
    });
  }

  /**
   * The distances of one stacked op run (see the 'diff' request): `outs` are moved to the worker
   * (their buffers transferred), `refs` (first chunk of a pair only) are copied.
   */
  diff(key: number, refs: SampleTensor[] | undefined, outs: Float32Array[], k: number): Promise<Float64Array> {
    if (this.exited) this.fail(new CalibrationError('auto-tune: the elementwise worker has exited'));
    if (this.failure) return Promise.reject(this.failure);
    const id = ++this.id;
    return new Promise((resolve, reject) => {
      this.waits.set(id, { resolve: (r) => resolve(r.sums[0]!), reject });
      this.worker.ref();
      this.worker.postMessage({ type: 'diff', id, key, refs, outs, k } satisfies PointwiseRequest, outs.map((o) => o.buffer as ArrayBuffer));
    });
  }

  /** Ends the worker (waits for it: an unreferenced worker would let the process exit meanwhile). */
  async close(): Promise<void> {
    if (this.exited) return;
    this.worker.ref();
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage({ type: 'close' } satisfies PointwiseRequest);
    await exited;
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const w of this.waits.values()) w.reject(e);
    this.waits.clear();
    this.worker.unref();
  }
}
