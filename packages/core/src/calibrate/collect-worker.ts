/**
 * Worker-thread side of the collect pool ({@link CollectPool}): holds built-in collector instances
 * for a subset of the tensors, runs their `collect` on the batches the main thread transfers (no
 * copy) and their `postCollect` at the end. Messages are handled strictly in order.
 */
import { parentPort } from 'node:worker_threads';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import type { CalibrationCollector, TensorInfo } from '../collector';
import type { TensorRange } from '../tensor';
import type { Logger } from '../logger';
import { instantiateCollector, loadCollectors } from '../plugins';
import { QcalError, messageOf } from '../errors';
import type { PoolRequest, PoolReply } from './collect-pool';
import { createActivationRecorder, type ActivationRecorder } from '../runner/activation-recorder';
import { collectorFactory } from './collector-factory';

const port = parentPort!;
// The transferred activations are external memory of this isolate, freed only when their
// ArrayBuffers are collected; this isolate allocates little else, so V8 would let several batches
// (hundreds of MB) pile up. A full collection once the batches received since the last one hold
// GC_BYTES frees them: after every batch of a large model (each is more), every few batches in fast
// mode, whose samples are small (a collection per batch there cost ~40 ms, more than the batch's
// histograms; recognizer, 237 sampled tensors, load 10).
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const GC_BYTES = 64 * 1024 * 1024;
let received = 0;
let instances: (CalibrationCollector | undefined)[] = [];
let owned: TensorInfo[][] = [];
let recorder: ActivationRecorder | undefined;

const reply = (m: PoolReply): void => port.postMessage(m);
const logger: Logger = {
  info: (message) => reply({ type: 'log', level: 'info', message }),
  warn: (message) => reply({ type: 'log', level: 'warn', message }),
  debug: (message) => reply({ type: 'log', level: 'debug', message }),
};

async function handle(m: PoolRequest): Promise<void> {
  if (m.type === 'init') {
    instances = m.collectors.map((c, i) => {
      const tensors = m.tensors[i]!;
      if (!tensors.length) return undefined;
      const { collectors, registry } = loadCollectors([[c.name, c.options]], { configDir: m.cwd, cwd: m.cwd });
      // A wrapping collector (autotune) creates its base here as on the main thread.
      return instantiateCollector(collectors[0]!, { tensors, logger, createCollector: collectorFactory(registry, c.name, tensors, logger, m.cwd) });
    });
    owned = m.tensors;
    recorder = m.record?.tensors.length ? createActivationRecorder(m.record.tensors, m.record.settings) : undefined;
    reply({ type: 'ready' });
  } else if (m.type === 'batch') {
    for (const t of m.tensors) {
      const act = { data: t.data, dims: t.dims, ...(t.extremes ? { extremes: t.extremes } : {}) };
      for (const i of t.collectors) await instances[i]!.collect(t.name, t.opName, act);
      // After the collectors: their full pass left the tensor in cache for the report's strided sample.
      recorder?.observe(t.name, t.data, t.dims);
      received += t.data.byteLength;
    }
    m.tensors.length = 0;
    if (received >= GC_BYTES) { gc(); received = 0; }
    reply({ type: 'done', seq: m.seq });
  } else if (m.type === 'histograms') {
    reply({ type: 'histograms', histograms: recorder ? recorder.result() : null });
  } else if (m.type === 'post') {
    const c = instances[m.collector];
    const ranges: Record<string, TensorRange> = c
      ? await c.postCollect({ tensors: owned[m.collector]!, samples: m.samples, batches: m.batches, logger, threads: m.threads })
      : {};
    reply({ type: 'ranges', collector: m.collector, ranges });
  } else if (m.type === 'snapshot') {
    // A tuning collector's state goes back to the main thread, which merges it and runs postCollect.
    const c = instances[m.collector];
    reply({ type: 'state', collector: m.collector, state: c?.snapshot ? c.snapshot() : null });
  }
}

let chain = Promise.resolve();
port.on('message', (m: PoolRequest) => {
  chain = chain.then(() => handle(m)).catch((e: unknown) => {
    reply({ type: 'error', message: messageOf(e), code: e instanceof QcalError ? e.code : undefined });
  });
});
