import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type * as ort from 'onnxruntime-node';
import type { FeedTensor } from '../tensor';
import { CalibrationError, ModelError } from '../errors';

/** An output as the worker sends it back (the fields of an onnxruntime tensor the runner reads). */
export interface PlainOutput {
  readonly type: ort.Tensor.Type;
  readonly data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | BigUint64Array;
  readonly dims: readonly number[];
}

/** Main thread → worker. */
export type InferenceRequest =
  | { type: 'init'; bytes: Uint8Array; options: Record<string, unknown> }
  | { type: 'run'; seq: number; feeds: Record<string, FeedTensor>; fetches: string[]; runOptions?: Record<string, unknown> }
  | { type: 'close' };

/** Worker → main thread. */
export type InferenceReply =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'out'; seq: number; outputs: Record<string, PlainOutput> }
  | { type: 'error'; seq: number; message: string };

/**
 * The worker script, when running from the built package. Under ts-jest (sources) there is none,
 * unless a test sets QCAL_TEST_INFERENCE_WORKERS: then the built one (`tsc -b` runs before jest).
 */
function workerScript(): string | undefined {
  const candidates = [join(__dirname, 'inference-worker.js')];
  if (process.env.QCAL_TEST_INFERENCE_WORKERS) candidates.push(join(__dirname, '..', '..', 'dist', 'runner', 'inference-worker.js'));
  else if (process.env.JEST_WORKER_ID !== undefined) return undefined;
  return candidates.find((f) => existsSync(f));
}

/** Default number of inference workers: one per core, at most 4 (0 on a single core: nothing to gain). */
export function defaultInferenceWorkers(): number {
  const cores = availableParallelism();
  return cores < 2 ? 0 : Math.min(4, cores);
}

/**
 * Several onnxruntime sessions of one model, each on its own worker thread with one intra-op
 * thread (unless the options say otherwise), running whole batches side by side: every core
 * infers a batch of its own instead of all cores sharing each op. For models whose per-op work is
 * small and partly serial (the in-graph min/max reductions run on one thread whatever the intra-op
 * setting) this keeps every core busy. `run` resolves in any order; callers that need batch order
 * keep their own queue. Feeds are copied to the worker (the caller keeps them); outputs move back
 * without a copy.
 */
export class InferencePool {
  private readonly workers: Worker[] = [];
  private readonly idle: number[] = [];
  private readonly queue: { feeds: Record<string, FeedTensor>; fetches: string[]; where: string; runOptions?: Record<string, unknown>; resolve: (o: Record<string, PlainOutput>) => void; reject: (e: Error) => void }[] = [];
  private readonly waits = new Map<number, { worker: number; where: string; resolve: (o: Record<string, PlainOutput>) => void; reject: (e: Error) => void }>();
  private readonly exited = new Set<number>();
  private seq = 0;
  private failure: Error | undefined;

  private constructor(script: string, n: number) {
    for (let k = 0; k < n; k++) {
      const w = new Worker(script);
      w.unref();
      w.on('error', (e) => this.fail(new CalibrationError(`inference worker ${k} failed: ${e.message}`, { cause: e })));
      w.on('exit', (code) => { this.exited.add(k); if (code !== 0) this.fail(new CalibrationError(`inference worker ${k} exited with code ${code}`)); });
      this.workers.push(w);
    }
  }

  /**
   * Starts `workers` worker threads, which load onnxruntime at once (so that this overlaps whatever
   * the caller does before it has the model bytes); `load` then gives them the model. Undefined
   * when there is no built worker script or fewer than 2 workers are asked for.
   */
  static start(workers: number): InferencePool | undefined {
    const script = workerScript();
    if (!script || workers < 2) return undefined;
    return new InferencePool(script, workers);
  }

  /** `start` then `load`. */
  static async create(bytes: Uint8Array, options: ort.InferenceSession.SessionOptions, workers: number, where: string): Promise<InferencePool | undefined> {
    const pool = InferencePool.start(workers);
    await pool?.load(bytes, options, where);
    return pool;
  }

  /**
   * Creates the session in every worker (in parallel) and resolves as soon as one is ready:
   * batches start on it while the others finish loading and join. A model onnxruntime refuses
   * throws ModelError, as `createSession` does (the pool is then closed). `handOver`: the caller
   * gives `bytes` up — when they fill their whole buffer, it moves to the last worker instead of
   * being copied (the others get copies); the caller's array is then empty (detached).
   */
  async load(bytes: Uint8Array, options: ort.InferenceSession.SessionOptions, where: string, handOver = false): Promise<void> {
    const perWorker = { ...options, intraOpNumThreads: options.intraOpNumThreads || 1 };
    // (A model of ~10 MB: each structured-clone copy costs the main thread 10–50 ms under load.)
    const movable = handOver && bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    const last = this.workers.length - 1;
    const loaded = this.workers.map((w, k) => new Promise<void>((resolve, reject) => {
      const onExit = (code: number): void => reject(new CalibrationError(`inference worker ${k} exited with code ${code} while loading the model`));
      w.once('exit', onExit);
      w.once('message', (m: InferenceReply) => {
        w.off('exit', onExit);
        if (m.type !== 'ready') { reject(new ModelError(`${where}: onnxruntime could not load the model: ${m.type === 'failed' ? m.message : m.type}`)); return; }
        w.on('message', (r: InferenceReply) => this.onMessage(k, r));
        this.idle.push(k);
        this.dispatch();
        resolve();
      });
      w.postMessage({ type: 'init', bytes, options: perWorker } satisfies InferenceRequest, movable && k === last ? [bytes.buffer as ArrayBuffer] : []);
    }));
    // A worker that fails to load after the first one is ready fails the pool (pending runs reject).
    for (const p of loaded) p.catch((e: Error) => this.fail(e));
    try {
      await Promise.any(loaded);
    } catch (e) {
      await this.close();
      throw (e as AggregateError).errors?.[0] ?? e;
    }
  }

  /** How many batches can be inferred at once. */
  get size(): number {
    return this.workers.length;
  }

  /** Infers one batch on the next free worker; errors name the batch (`where`), as `runBatch`'s do. */
  run(feeds: Readonly<Record<string, FeedTensor>>, fetches: readonly string[], where: string, runOptions?: ort.InferenceSession.RunOptions): Promise<Record<string, PlainOutput>> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.queue.push({ feeds: { ...feeds }, fetches: [...fetches], where, ...(runOptions ? { runOptions: { ...runOptions } } : {}), resolve, reject });
      this.dispatch();
    });
  }

  /**
   * Ends the workers once they are done with what they were sent (a session still loading, a
   * batch running: ending a thread inside onnxruntime would abort the process); their sessions
   * are released. Runs not yet sent to a worker are rejected.
   */
  async close(): Promise<void> {
    this.fail(new CalibrationError('the inference pool was closed'));
    // (A worker that already ended, e.g. crashed, has nothing left to wait for.)
    await Promise.all(this.workers.filter((_, k) => !this.exited.has(k)).map((w) => new Promise<void>((resolve) => {
      w.once('exit', () => resolve());
      w.ref();
      w.postMessage({ type: 'close' } satisfies InferenceRequest);
    })));
  }

  private dispatch(): void {
    while (this.idle.length && this.queue.length) {
      const k = this.idle.shift()!;
      const job = this.queue.shift()!;
      const seq = this.seq++;
      this.waits.set(seq, { worker: k, where: job.where, resolve: job.resolve, reject: job.reject });
      // A worker with a batch keeps the process alive until its reply.
      this.workers[k]!.ref();
      this.workers[k]!.postMessage({ type: 'run', seq, feeds: job.feeds, fetches: job.fetches, ...(job.runOptions ? { runOptions: job.runOptions } : {}) } satisfies InferenceRequest);
    }
  }

  private onMessage(k: number, m: InferenceReply): void {
    if (m.type !== 'out' && m.type !== 'error') return;
    const w = this.waits.get(m.seq);
    if (!w) return;
    this.waits.delete(m.seq);
    this.workers[k]!.unref();
    this.idle.push(k);
    if (m.type === 'out') w.resolve(m.outputs);
    else w.reject(new CalibrationError(`inference failed on ${w.where}: ${m.message}`));
    this.dispatch();
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const w of this.waits.values()) w.reject(this.failure);
    for (const j of this.queue) j.reject(this.failure);
    this.waits.clear();
    this.queue.length = 0;
  }
}
