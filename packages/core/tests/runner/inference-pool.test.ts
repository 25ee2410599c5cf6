/**
 * Inference workers: a min/max-only calibration infers batches side by side on worker threads and
 * gives exactly the tables of one main-thread session (batch order kept: a moving average depends
 * on it; NaN/±Infinity still re-run and counted per element); the pool's own contract (outputs,
 * errors naming the batch or the model, closing while a worker is still loading).
 */
import { calibrate, loadCollectors, encodeModel, CalibrationError, ModelError, type OnnxModel, type DataSource } from '@qcal/core';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InferencePool } from '../../src/runner/inference-pool';
import { sessionOptions } from '../../src/runner/session';
import { opNode, squareReluModel } from '../../../../test-support/tiny-model';

// The workers run the built script (dist/runner/inference-worker.js; `tsc -b` runs before jest).
process.env.QCAL_TEST_INFERENCE_WORKERS = '1';

const W = 8;
const node = opNode;
const model = (): OnnxModel => squareReluModel(W);

// Ranges that move from batch to batch (a moving average sees the order), and non-finite values
// in two of them (NaN not first: onnxruntime's ReduceMin/Max would skip it; 1e20² = +Inf).
const BATCHES = Array.from({ length: 12 }, (_, b) => Array.from({ length: W }, (_, i) => ((i * 5 + b * 3) % 7 - 3) * (1 + b / 4)));
BATCHES[3]![5] = NaN;
BATCHES[3]![6] = 1e20;
BATCHES[8]![0] = -Infinity;

function source(): DataSource {
  return { async *[Symbol.asyncIterator]() { for (const b of BATCHES) yield { x: { type: 'float32' as const, data: Float32Array.from(b), dims: [1, W] } }; } };
}

let dir: string;
let file: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qcal-infer-pool-'));
  file = path.join(dir, 'm.onnx');
  fs.writeFileSync(file, encodeModel(model()));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('min/max with inference workers: the tables of one main-thread session, batch order and non-finite counts included', async () => {
  const logs: string[] = [];
  const run = async (ref: unknown, inferenceWorkers: number) => {
    const { collectors, registry } = loadCollectors([ref as never], { configDir: dir, cwd: dir });
    const logger = { info: (m: string) => logs.push(m), warn: () => {}, debug: () => {} };
    const res = await calibrate({ model: file, data: { data: source(), batchSize: 1 }, collectors, registry, tensors: 'all', session: { inferenceWorkers }, logger });
    expect(res.samples).toBe(BATCHES.length);
    return res.results[0]!.table.tensors;
  };
  const plain = await run('minmax', 0);
  expect(await run('minmax', 2)).toEqual(plain);
  // A moving average of per-batch ranges depends on batch order.
  const average = await run(['minmax', { movingAverage: true, averagingConstant: 0.3 }], 0);
  expect(await run(['minmax', { movingAverage: true, averagingConstant: 0.3 }], 2)).toEqual(average);
  expect(await run(['minmax', { movingAverage: true, averagingConstant: 0.3 }], 3)).toEqual(average);
  expect(average).not.toEqual(plain);
  expect(logs.filter((m) => /side by side/.test(m))).toEqual([
    'qcal: 2 batches inferred side by side (2 inference worker threads, 1 onnxruntime thread(s) each)',
    'qcal: 2 batches inferred side by side (2 inference worker threads, 1 onnxruntime thread(s) each)',
    'qcal: 3 batches inferred side by side (3 inference worker threads, 1 onnxruntime thread(s) each)',
  ]);
  // By hand, from the finite values of every batch.
  const finite = BATCHES.flat().filter(Number.isFinite).map(Math.fround);
  expect([plain.x!.min, plain.x!.max]).toEqual([Math.min(...finite), Math.max(...finite)]);
  expect([plain.x!.nanCount, plain.x!.infCount]).toEqual([1, 1]);
  // y = x²: NaN² = NaN; 1e20² and (-Inf)² = +Inf.
  expect([plain.y!.nanCount, plain.y!.infCount]).toEqual([1, 2]);
});

test('the inference workers start before the model is instrumented: a failure before the pass still ends them, and the error is the collector\'s', async () => {
  const { collectors, registry } = loadCollectors(['minmax' as never], { configDir: dir, cwd: dir });
  const broken = collectors.map((c) => ({ ...c, definition: { ...c.definition, create: () => { throw new Error('no instance today'); } } }));
  const run = calibrate({ model: file, data: { data: source(), batchSize: 1 }, collectors: broken, registry, tensors: 'all', session: { inferenceWorkers: 2 } });
  await expect(run).rejects.toThrow(/no instance today/);
  // The same run with a working collector right after: nothing was left behind.
  const ok = await calibrate({ model: file, data: { data: source(), batchSize: 1 }, collectors, registry, tensors: 'all', session: { inferenceWorkers: 2 } });
  expect(ok.samples).toBe(BATCHES.length);
});

test('the pool infers like a session, names the batch when a run fails, and the model when onnxruntime refuses it', async () => {
  const bytes = encodeModel(model());
  const pool = (await InferencePool.create(bytes, sessionOptions(), 2, 'm.onnx'))!;
  expect(pool.size).toBe(2);
  try {
    const xs = [Float32Array.of(1, -2, 3, -4, 5, -6, 7, -8), Float32Array.of(0.5, 0.25, -1, 2, 0, 0, 1, 3)];
    // Both in flight at once; each resolves with its own batch's outputs.
    const outs = await Promise.all(xs.map((x, k) => pool.run({ x: { type: 'float32', data: x, dims: [1, W] } }, ['z'], `batch ${k}`)));
    outs.forEach((o, k) => {
      const want = Array.from(xs[k]!, (v) => Math.fround(v * v));
      expect(o.z!.type).toBe('float32');
      expect(o.z!.dims).toEqual([1, W]);
      expect(Array.from(o.z!.data as Float32Array)).toEqual(want);
    });
    // The feed stays usable by the caller (it is copied, not moved).
    expect(xs[0]![0]).toBe(1);
    const bad = pool.run({ x: { type: 'float32', data: new Float32Array(3), dims: [1, 3] } }, ['z'], 'line_0007.npy');
    await expect(bad).rejects.toThrow(CalibrationError);
    await expect(bad).rejects.toThrow(/inference failed on line_0007\.npy/);
    // The worker that failed takes the next batch as before.
    const again = await pool.run({ x: { type: 'float32', data: xs[1]!, dims: [1, W] } }, ['z'], 'batch 2');
    expect(Array.from(again.z!.data as Float32Array)).toEqual(Array.from(xs[1]!, (v) => Math.fround(v * v)));
  } finally {
    await pool.close();
  }
  const broken = { ...model(), graph: { ...model().graph!, node: [node('NoSuchOp', ['x'], ['z'])] } } as OnnxModel;
  await expect(InferencePool.create(encodeModel(broken), sessionOptions(), 2, 'broken.onnx')).rejects.toThrow(ModelError);
  await expect(InferencePool.create(encodeModel(broken), sessionOptions(), 2, 'broken.onnx')).rejects.toThrow(/broken\.onnx: onnxruntime could not load the model/);
});

test('handed-over model bytes move to the last worker (every worker still infers); bytes sharing a buffer are copied', async () => {
  const x = Float32Array.of(1, -2, 3, -4, 5, -6, 7, -8);
  const want = Array.from(x, (v) => Math.fround(v * v));
  const bytes = Uint8Array.from(encodeModel(model()));
  const n = bytes.length;
  const pool = InferencePool.start(3)!;
  try {
    await pool.load(bytes, sessionOptions(), 'm.onnx', true);
    expect(bytes.byteLength).toBe(0);
    // Three batches at once: each worker gets one (the last worker's session is from the moved bytes).
    const outs = await Promise.all([0, 1, 2].map((k) => pool.run({ x: { type: 'float32', data: x, dims: [1, W] } }, ['z'], `batch ${k}`)));
    for (const o of outs) expect(Array.from(o.z!.data as Float32Array)).toEqual(want);
  } finally {
    await pool.close();
  }
  // A view into a larger buffer cannot move: it is copied and stays the caller's.
  const shared = new Uint8Array(n + 16);
  shared.set(encodeModel(model()), 8);
  const view = shared.subarray(8, 8 + n);
  const pool2 = InferencePool.start(2)!;
  try {
    await pool2.load(view, sessionOptions(), 'm.onnx', true);
    expect(view.byteLength).toBe(n);
    expect(Array.from((await pool2.run({ x: { type: 'float32', data: x, dims: [1, W] } }, ['z'], 'b')).z!.data as Float32Array)).toEqual(want);
  } finally {
    await pool2.close();
  }
});

test('closing the pool while a worker is still creating its session ends cleanly', async () => {
  // The pool resolves when the first worker is ready; closing at once must wait for the others'
  // sessions (ending a thread inside onnxruntime aborts the process).
  for (let k = 0; k < 3; k++) {
    const pool = (await InferencePool.create(encodeModel(model()), sessionOptions(), 4, 'm.onnx'))!;
    await pool.close();
    await expect(pool.run({ x: { type: 'float32', data: new Float32Array(W), dims: [1, W] } }, ['z'], 'late')).rejects.toThrow(/closed/);
  }
});

test('a worker that ends on its own fails the pending runs, and closing the pool still returns', async () => {
  const pool = (await InferencePool.create(encodeModel(model()), sessionOptions(), 2, 'm.onnx'))!;
  // Both workers loaded and idle, then one thread ends from outside onnxruntime (ending it inside
  // a session creation would abort the process: wait until both are idle).
  const x = { x: { type: 'float32' as const, data: new Float32Array(W), dims: [1, W] } };
  const inside = pool as unknown as { workers: { terminate(): Promise<number> }[]; idle: number[] };
  while (inside.idle.length < 2) await new Promise((r) => setTimeout(r, 10));
  await inside.workers[0]!.terminate();
  await expect(pool.run(x, ['z'], 'after')).rejects.toThrow(/inference worker 0 exited/);
  await pool.close();
});
