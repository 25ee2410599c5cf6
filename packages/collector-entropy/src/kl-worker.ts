/**
 * Worker-thread entry of the KL pool (see kl-pool.ts): runs the searches it is sent. Loaded from
 * the built `dist/kl-worker.js` only; under ts-jest the pool runs in-thread instead.
 */
import { parentPort } from 'node:worker_threads';
import { runKlTask, type KlTask } from './kl-task';

parentPort!.on('message', (msg: { id: number; task: KlTask }) => {
  parentPort!.postMessage({ id: msg.id, result: runKlTask(msg.task) });
});
