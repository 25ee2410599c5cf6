/**
 * Worker-thread side of the inference pool ({@link InferencePool}): one onnxruntime session of
 * the model bytes it is given, running the batches it is sent, one at a time, and sending the
 * fetched outputs back (their buffers transferred, not copied). Loads nothing of qcal but the
 * feed conversion, so that it starts fast.
 */
import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { toOrtFeeds } from './session';
import type { InferenceReply, InferenceRequest, PlainOutput } from './inference-pool';

const port = parentPort!;
let session: ort.InferenceSession | undefined;
const reply = (m: InferenceReply, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

// One message at a time, in order: a run never overlaps session creation or release (onnxruntime's
// native calls must not be cut short by the thread ending: the process would abort).
let chain: Promise<void> = Promise.resolve();
port.on('message', (m: InferenceRequest) => { chain = chain.then(() => handle(m)); });

async function handle(m: InferenceRequest): Promise<void> {
  if (m.type === 'init') {
    try {
      session = await ort.InferenceSession.create(m.bytes, m.options as ort.InferenceSession.SessionOptions);
      reply({ type: 'ready' });
    } catch (e) {
      reply({ type: 'failed', message: message(e) });
    }
    return;
  }
  if (m.type === 'close') {
    await session?.release().catch(() => undefined);
    session = undefined;
    port.close();
    return;
  }
  try {
    const out = m.runOptions
      ? await session!.run(toOrtFeeds(m.feeds), m.fetches, m.runOptions as ort.InferenceSession.RunOptions)
      : await session!.run(toOrtFeeds(m.feeds), m.fetches);
    const outputs: Record<string, PlainOutput> = {};
    const transfer: ArrayBuffer[] = [];
    for (const [name, v] of Object.entries(out)) {
      const data = v.data as PlainOutput['data'];
      outputs[name] = { type: v.type as PlainOutput['type'], data, dims: [...v.dims] };
      // onnxruntime-node gives every output its own buffer: it can move.
      if (data.buffer instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && !transfer.includes(data.buffer)) transfer.push(data.buffer);
    }
    reply({ type: 'out', seq: m.seq, outputs }, transfer);
  } catch (e) {
    reply({ type: 'error', seq: m.seq, message: message(e) });
  }
}
