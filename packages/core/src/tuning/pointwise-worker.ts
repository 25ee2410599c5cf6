/**
 * Worker-thread side of {@link PointwiseWorker}: evaluates auto-tune's elementwise (tensor,
 * consumer) pairs of one tune sample in its own pointwise kernel (WebAssembly), and the distances
 * of the op outputs the main thread sends (the stack kernel's `squaredErrors`), while the main
 * thread runs the consumer ops in onnxruntime; sends the squared-error sums back (their buffers
 * transferred). Loads nothing of qcal but the kernels, so that it starts fast.
 *
 * Distances go first: the main thread waits for them when too many outputs are in flight, while an
 * elementwise job is only awaited at the end of its sample. An elementwise job is therefore done
 * one task at a time, with any distances that arrived in between.
 */
import { parentPort } from 'node:worker_threads';
import { createPointwiseKernel } from './pointwise-wasm';
import { createStackKernel } from './stack-kernel';
import { absSum, pointwiseSums } from './pointwise-eval';
import type { PointwiseReply, PointwiseRequest } from './pointwise-pool';
import type { SampleTensor } from './pointwise-eval';
import { collectGarbage } from '../runner/collect-garbage';

const port = parentPort!;
const kernel = createPointwiseKernel();
const stack = createStackKernel();

type Job = Extract<PointwiseRequest, { type: 'job' }>;
type Diff = Extract<PointwiseRequest, { type: 'diff' }>;
const diffs: Diff[] = [];
const jobs: { job: Job; done: (Float64Array | null)[]; ms: number }[] = [];
let scheduled = false;
/** References of the pairs whose distances come here, by key, until the next elementwise job (the next sample). */
const refsByKey = new Map<number, SampleTensor[]>();
/** Bytes of op outputs received since the last garbage collection. */
let received = 0;

const fail = (id: number, e: unknown): void => port.postMessage({ type: 'error', id, message: e instanceof Error ? e.message : String(e) } satisfies PointwiseReply);

/** One unit of work: a distance if any is waiting, else the next task of the oldest elementwise job. */
function step(): void {
  scheduled = false;
  const d = diffs.shift();
  if (d) {
    try {
      const t0 = performance.now();
      const sq = new Float64Array(d.k);
      if (d.refs) refsByKey.set(d.key, d.refs);
      const refs = refsByKey.get(d.key);
      if (!refs) throw new Error(`no references for distance key ${d.key}`);
      refs.forEach((r, i) => {
        const ref = r.data as Float32Array;
        const [a, b] = stack.arrays([ref.length, d.outs[i]!.length], d.k);
        a!.set(ref);
        b!.set(d.outs[i]!);
        stack.squaredErrors(a!, b!, sq);
      });
      port.postMessage({ type: 'done', id: d.id, sums: [sq], l1: {}, ms: performance.now() - t0, wasm: stack.wasm } satisfies PointwiseReply, [sq.buffer]);
      // The moved outputs are garbage now; V8 left them to pile up (hundreds of MB) between collections.
      received += d.outs.reduce((a, o) => a + o.byteLength, 0);
      if (received > 64 * 1024 * 1024) { received = 0; setImmediate(collectGarbage); }
    } catch (e) {
      fail(d.id, e);
    }
  } else if (jobs.length) {
    const j = jobs[0]!;
    try {
      const t0 = performance.now();
      const t = j.job.tasks[j.done.length]!;
      j.done.push(pointwiseSums(kernel, t, (name) => j.job.tensors[name]) ?? null);
      j.ms += performance.now() - t0;
      if (j.done.length === j.job.tasks.length) {
        jobs.shift();
        const l1: Record<string, number> = {};
        j.job.tasks.forEach((task, i) => { if (j.done[i] && l1[task.op.output] === undefined) l1[task.op.output] = absSum(j.job.tensors[task.op.output]!.data as Float32Array); });
        const reply: PointwiseReply = { type: 'done', id: j.job.id, sums: j.done, l1, ms: j.ms, wasm: kernel.wasm };
        port.postMessage(reply, j.done.flatMap((s) => (s ? [s.buffer as ArrayBuffer] : [])));
        // The sample's tensors (moved here) are garbage now: collected before the next sample's
        // job arrives, rather than piling up next to it.
        collectGarbage();
      }
    } catch (e) {
      jobs.shift();
      fail(j.job.id, e);
    }
  }
  if ((diffs.length || jobs.length) && !scheduled) { scheduled = true; setImmediate(step); }
}

port.on('message', (m: PointwiseRequest) => {
  if (m.type === 'close') { port.close(); return; }
  if (m.type === 'diff') diffs.push(m);
  else { refsByKey.clear(); jobs.push({ job: m, done: [], ms: 0 }); }
  if (!scheduled) { scheduled = true; setImmediate(step); }
});
