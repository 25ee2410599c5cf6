import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { CalibrationCollector, CollectorState, PostCollectContext, TensorInfo } from '../collector';
import type { TensorRange } from '../tensor';
import type { Logger } from '../logger';
import { CalibrationError, type QcalErrorCode } from '../errors';
import { isBuiltinCollectorName } from '../plugins';
import type { PlannedCollector } from './plan';
import type { ActivationHistograms, HistogramSettings } from '../runner/activation-recorder';

/** Main thread → worker. */
export type PoolRequest =
  | { type: 'init'; cwd: string; collectors: { name: string; options: Record<string, unknown> }[]; tensors: TensorInfo[][]; record?: { settings: HistogramSettings; tensors: TensorInfo[] } }
  | { type: 'histograms' }
  | { type: 'batch'; seq: number; tensors: (PooledTensor & { name: string })[] }
  | { type: 'post'; collector: number; samples: number; batches: number; threads: number }
  | { type: 'snapshot'; collector: number };
/** One tensor of a batch for the workers: its values (or fast mode's sample and exact extremes) and the plan indexes of its collectors. */
export interface PooledTensor {
  opName: string;
  data: Float32Array;
  dims: readonly number[];
  extremes?: { min: number; max: number };
  collectors: number[];
}

/** Worker → main thread. */
export type PoolReply =
  | { type: 'ready' }
  | { type: 'done'; seq: number }
  | { type: 'ranges'; collector: number; ranges: Record<string, TensorRange> }
  | { type: 'histograms'; histograms: ActivationHistograms | null }
  | { type: 'state'; collector: number; state: CollectorState | null }
  | { type: 'log'; level: 'info' | 'warn' | 'debug'; message: string }
  | { type: 'error'; message: string; code: QcalErrorCode | undefined };

/**
 * The worker script, when running from the built package. Under ts-jest (sources) there is none,
 * unless a test sets QCAL_TEST_COLLECT_WORKERS: then the built one (`tsc -b` runs before jest).
 */
function workerScript(): string | undefined {
  const candidates = [join(__dirname, 'collect-worker.js')];
  if (process.env.QCAL_TEST_COLLECT_WORKERS) candidates.push(join(__dirname, '..', '..', 'dist', 'calibrate', 'collect-worker.js'));
  else if (process.env.JEST_WORKER_ID !== undefined) return undefined;
  return candidates.find((f) => existsSync(f));
}

/**
 * Default number of collect workers: one per core but the one the main thread needs (onnxruntime-node
 * runs inference synchronously on it, and copies every output there), at least 1, at most 4. On the
 * 2-core machine of the measurements one worker beat two in every mode (PP-OCRv4 recognizer, 100
 * lines, exact and fast, entropy alone and entropy + hfmg + ifmr: equal to 19 % less wall time, 5–18 %
 * less CPU, 60–85 MB less peak RSS): a third busy thread on two cores only added its scheduling, its
 * garbage collections and cache misses.
 */
export function defaultCollectWorkers(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

/**
 * Which planned collectors can run in a worker: built-in ones (a worker loads them by name) that
 * need the full tensor and no tuning context. Plugins and range-only collectors stay on the main
 * thread; so does a built-in tuning collector (auto-tune) unless `movable` says its state can come
 * back (see {@link CollectPool.proxy}).
 */
export function workerEligible(p: PlannedCollector, movable = false): boolean {
  return isBuiltinCollectorName(p.resolved.name) && !p.rangeOnly && (!p.resolved.definition.needs?.tuning || movable);
}

interface Pending { resolve: () => void; reject: (e: Error) => void }

/**
 * Collector work on worker threads while onnxruntime infers the next batch on the main thread's
 * session. Each fetched tensor belongs to one worker (balanced by its size in the first batch);
 * every eligible collector of that tensor runs there, in batch order. Buffers are transferred,
 * not copied. At most one batch is outstanding per worker: {@link post} waits for the previous
 * batch to be done, so memory stays bounded by the batch being collected plus the one being
 * inferred (as with in-thread overlap).
 */
export class CollectPool {
  private readonly workers: Worker[] = [];
  private owner = new Map<string, number>();
  private initialized = false;
  private failure: Error | undefined;
  private readonly waits = new Map<string, Pending>();
  private readonly rangeWaits = new Map<string, { resolve: (r: Record<string, TensorRange>) => void; reject: (e: Error) => void }>();
  private readonly recordSet: ReadonlySet<string>;
  private readonly histWaits = new Map<number, { resolve: (h: ActivationHistograms | null) => void; reject: (e: Error) => void }>();
  private readonly stateWaits = new Map<string, { resolve: (s: CollectorState | null) => void; reject: (e: Error) => void }>();
  private outstanding: Promise<void>[] = [];
  private seq = 0;

  private constructor(
    private readonly script: string,
    private readonly n: number,
    private readonly planned: readonly PlannedCollector[],
    /** Index into `planned` of every collector that runs in the workers. */
    readonly eligible: readonly number[],
    private readonly logger: Logger,
    private readonly cwd: string,
    /** The report's histograms: kept by the worker that owns each tensor (off the main thread, which runs inference). */
    readonly record?: { readonly settings: HistogramSettings; readonly tensors: readonly TensorInfo[] },
  ) {
    this.recordSet = new Set(record?.tensors.map((t) => t.name));
    for (let k = 0; k < n; k++) {
      const w = new Worker(script);
      // Keeps the process alive only while a reply is awaited (see refs()): a run that fails
      // elsewhere, leaving the pool open, still exits.
      w.unref();
      w.on('message', (m: PoolReply) => this.onMessage(k, m));
      w.on('error', (e) => this.fail(e));
      w.on('exit', (code) => { if (code !== 0) this.fail(new CalibrationError(`collect worker ${k} exited with code ${code}`)); });
      this.workers.push(w);
    }
  }

  /**
   * A pool for the eligible collectors of the plan, or undefined when there is nothing to gain (or
   * no built worker). `movable(i)`: tuning collector `i` can snapshot its state (to be merged into
   * a main-thread instance for postCollect), so it may collect in the workers too.
   */
  static create(planned: readonly PlannedCollector[], workers: number, logger: Logger, cwd: string, movable: (i: number) => boolean = () => false, record?: CollectPool['record']): CollectPool | undefined {
    const script = workerScript();
    if (!script || workers < 1) return undefined;
    const eligible = planned.map((p, i) => (workerEligible(p) || (workerEligible(p, true) && movable(i)) ? i : -1)).filter((i) => i >= 0);
    if (eligible.length === 0) return undefined;
    return new CollectPool(script, workers, planned, eligible, logger, cwd, record);
  }

  private fail(e: Error): void {
    if (!this.failure) this.failure = e;
    for (const w of this.waits.values()) w.reject(this.failure);
    for (const w of this.rangeWaits.values()) w.reject(this.failure);
    for (const w of this.stateWaits.values()) w.reject(this.failure);
    for (const w of this.histWaits.values()) w.reject(this.failure);
    this.waits.clear();
    this.rangeWaits.clear();
    this.stateWaits.clear();
    this.histWaits.clear();
    this.refs();
  }

  private onMessage(k: number, m: PoolReply): void {
    this.handle(k, m);
    this.refs();
  }

  private handle(k: number, m: PoolReply): void {
    if (m.type === 'log') this.logger[m.level](m.message);
    else if (m.type === 'error') {
      const e = new CalibrationError(m.message);
      if (m.code) Object.defineProperty(e, 'code', { value: m.code });
      this.fail(e);
    } else if (m.type === 'done') { this.waits.get(`${k}:${m.seq}`)?.resolve(); this.waits.delete(`${k}:${m.seq}`); }
    else if (m.type === 'ready') { this.waits.get(`${k}:ready`)?.resolve(); this.waits.delete(`${k}:ready`); }
    else if (m.type === 'ranges') { this.rangeWaits.get(`${k}:${m.collector}`)?.resolve(m.ranges); this.rangeWaits.delete(`${k}:${m.collector}`); }
    else if (m.type === 'histograms') { this.histWaits.get(k)?.resolve(m.histograms); this.histWaits.delete(k); }
    else if (m.type === 'state') { this.stateWaits.get(`${k}:${m.collector}`)?.resolve(m.state); this.stateWaits.delete(`${k}:${m.collector}`); }
  }

  private wait(key: string): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const p = new Promise<void>((resolve, reject) => this.waits.set(key, { resolve, reject }));
    this.refs();
    return p;
  }

  /** Workers hold the event loop open exactly while some reply is awaited. */
  private refs(): void {
    const busy = this.waits.size + this.rangeWaits.size + this.stateWaits.size + this.histWaits.size > 0;
    for (const w of this.workers) { if (busy) w.ref(); else w.unref(); }
  }

  /** Whether `tensor` goes to a worker for planned collector `i`. */
  handles(i: number): boolean {
    return this.eligible.includes(i);
  }

  /** Assigns tensors to workers by their size in the first batch (largest first, least loaded worker). */
  private async init(sizes: ReadonlyMap<string, number>): Promise<void> {
    const load = new Array<number>(this.n).fill(0);
    for (const [name, size] of [...sizes].sort((a, b) => b[1] - a[1])) {
      let best = 0;
      for (let k = 1; k < this.n; k++) if (load[k]! < load[best]!) best = k;
      this.owner.set(name, best);
      load[best] = load[best]! + size;
    }
    const ready = this.workers.map((w, k) => {
      const p = this.wait(`${k}:ready`);
      w.postMessage({
        type: 'init',
        cwd: this.cwd,
        collectors: this.eligible.map((i) => ({ name: this.planned[i]!.resolved.name, options: { ...this.planned[i]!.resolved.options } })),
        tensors: this.eligible.map((i) => this.planned[i]!.tensors.filter((t) => this.owner.get(t.name) === k).map((t) => ({ ...t }))),
        ...(this.record ? { record: { settings: { ...this.record.settings }, tensors: this.record.tensors.filter((t) => this.owner.get(t.name) === k).map((t) => ({ ...t })) } } : {}),
      } satisfies PoolRequest);
      return p;
    });
    await Promise.all(ready);
    this.initialized = true;
  }

  /**
   * Hands a batch to the workers: `tensors` maps a tensor name to its values and the plan indexes
   * of the (eligible) collectors that want it. Waits first
   * for the previous batch to be done. The arrays' buffers are transferred (unusable here after).
   */
  async post(tensors: ReadonlyMap<string, PooledTensor>): Promise<void> {
    await Promise.all(this.outstanding);
    if (this.failure) throw this.failure;
    if (!this.initialized) await this.init(new Map([...tensors].map(([n, t]) => [n, t.data.length * t.collectors.length])));
    const seq = this.seq++;
    const per: PoolRequest[] = this.workers.map(() => ({ type: 'batch', seq, tensors: [] }));
    const transfer: ArrayBuffer[][] = this.workers.map(() => []);
    for (const [name, t] of tensors) {
      const k = this.owner.get(name);
      if (k === undefined) throw new CalibrationError(`tensor "${name}" appeared after the first batch; the collect workers were not given it`);
      const idx = t.collectors.map((i) => this.eligible.indexOf(i));
      (per[k] as Extract<PoolRequest, { type: 'batch' }>).tensors.push({ name, opName: t.opName, data: t.data, dims: [...t.dims], collectors: idx, ...(t.extremes ? { extremes: t.extremes } : {}) });
      // A view of a larger buffer (or a shared one) is copied by postMessage; a whole buffer moves.
      if (t.data.byteOffset === 0 && t.data.byteLength === t.data.buffer.byteLength && t.data.buffer instanceof ArrayBuffer) transfer[k]!.push(t.data.buffer);
    }
    this.outstanding = this.workers.map((w, k) => {
      const p = this.wait(`${k}:${seq}`);
      w.postMessage(per[k], transfer[k]!);
      return p;
    });
  }

  /** Waits for every posted batch to be collected. */
  async drain(): Promise<void> {
    await Promise.all(this.outstanding);
    this.outstanding = [];
    if (this.failure) throw this.failure;
  }

  /** Whether a tensor of the batches is recorded (the report's histogram) by its worker. */
  records(name: string): boolean {
    return this.recordSet.has(name);
  }

  /** The report's histograms kept by the workers (one set per worker that keeps any). */
  async histograms(): Promise<ActivationHistograms[]> {
    await this.drain();
    if (!this.record || !this.initialized) return [];
    const parts = await Promise.all(this.workers.map((w, k) => {
      if (this.failure) return Promise.reject(this.failure);
      const p = new Promise<ActivationHistograms | null>((resolve, reject) => this.histWaits.set(k, { resolve, reject }));
      this.refs();
      w.postMessage({ type: 'histograms' } satisfies PoolRequest);
      return p;
    }));
    return parts.filter((h): h is ActivationHistograms => h !== null);
  }

  /** postCollect of planned collector `i` in every worker, ranges merged. */
  async postCollect(i: number, ctx: PostCollectContext): Promise<Record<string, TensorRange>> {
    await this.drain();
    const slot = this.eligible.indexOf(i);
    // The workers' postCollects run at once: each may keep its share of the cores busy (with one
    // worker per core, a KL search pool of its own in each only added threads and their start-up).
    const threads = Math.max(1, Math.floor(availableParallelism() / this.n));
    const parts = await Promise.all(this.workers.map((w, k) => {
      if (this.failure) return Promise.reject(this.failure);
      const p = new Promise<Record<string, TensorRange>>((resolve, reject) => this.rangeWaits.set(`${k}:${slot}`, { resolve, reject }));
      this.refs();
      w.postMessage({ type: 'post', collector: slot, samples: ctx.samples, batches: ctx.batches, threads } satisfies PoolRequest);
      return p;
    }));
    return Object.assign({}, ...parts) as Record<string, TensorRange>;
  }

  /** Every worker's snapshot of planned collector `i` (null from a worker that holds none of its tensors). */
  async snapshots(i: number): Promise<(CollectorState | null)[]> {
    await this.drain();
    const slot = this.eligible.indexOf(i);
    return Promise.all(this.workers.map((w, k) => {
      if (this.failure) return Promise.reject(this.failure);
      const p = new Promise<CollectorState | null>((resolve, reject) => this.stateWaits.set(`${k}:${slot}`, { resolve, reject }));
      this.refs();
      w.postMessage({ type: 'snapshot', collector: slot } satisfies PoolRequest);
      return p;
    }));
  }

  /**
   * A stand-in for planned collector `i` on the main thread: postCollect asks the workers. With
   * `home` (a tuning collector, whose postCollect needs this thread's tuning context): the
   * workers' snapshots are merged into `home` (each worker holds other tensors, so each tensor's
   * state moves as it is) and `home` does the postCollect.
   */
  proxy(i: number, home?: CalibrationCollector): CalibrationCollector {
    const last = i === this.eligible[this.eligible.length - 1];
    if (home) {
      return {
        collect: () => { throw new CalibrationError('internal: a worker-backed collector was called in-thread'); },
        postCollect: async (ctx) => {
          let states: (CollectorState | null)[];
          try { states = await this.snapshots(i); } finally { if (last) this.close(); }
          for (const s of states) if (s) home.merge!(s);
          return home.postCollect(ctx);
        },
      };
    }
    return {
      collect: () => { throw new CalibrationError('internal: a worker-backed collector was called in-thread'); },
      postCollect: async (ctx) => {
        try { return await this.postCollect(i, ctx); } finally { if (last) this.close(); }
      },
    };
  }

  /**
   * Stops the workers without waiting for their exit: awaiting `terminate()` of unref'd workers
   * lets the event loop run empty and the process end silently mid-run (seen: exit 0, no output).
   */
  close(): void {
    for (const w of this.workers) void w.terminate().catch(() => undefined);
  }
}
