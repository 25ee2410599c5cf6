/**
 * Worker-thread side of {@link PointwiseWorker}: evaluates auto-tune's elementwise (tensor,
 * consumer) pairs of one tune sample in its own pointwise kernel (WebAssembly), while the main
 * thread runs the other consumer ops in onnxruntime, and sends the squared-error sums back (their
 * buffers transferred). Loads nothing of qcal but the kernel, so that it starts fast.
 */
import { parentPort } from 'node:worker_threads';
import { createPointwiseKernel } from './pointwise-wasm';
import { absSum, pointwiseSums } from './pointwise-eval';
import type { PointwiseReply, PointwiseRequest } from './pointwise-pool';
import { collectGarbage } from '../runner/collect-garbage';

const port = parentPort!;
const kernel = createPointwiseKernel();

port.on('message', (m: PointwiseRequest) => {
  if (m.type === 'close') { port.close(); return; }
  try {
    const t0 = performance.now();
    const values = (name: string) => m.tensors[name];
    const sums = m.tasks.map((t) => pointwiseSums(kernel, t, values) ?? null);
    const l1: Record<string, number> = {};
    m.tasks.forEach((t, i) => { if (sums[i] && l1[t.op.output] === undefined) l1[t.op.output] = absSum(m.tensors[t.op.output]!.data as Float32Array); });
    const reply: PointwiseReply = { type: 'done', id: m.id, sums, l1, ms: performance.now() - t0, wasm: kernel.wasm };
    port.postMessage(reply, sums.flatMap((s) => (s ? [s.buffer as ArrayBuffer] : [])));
    // The sample's tensors (moved here) are garbage once this handler has returned: collected
    // then, before the next sample's job arrives, rather than piling up next to it.
    setImmediate(collectGarbage);
  } catch (e) {
    port.postMessage({ type: 'error', id: m.id, message: e instanceof Error ? e.message : String(e) } satisfies PointwiseReply);
  }
});
