/** @jest-environment ./packages/core/tests/tuning/ort-environment.js */
import { PointwiseWorker } from '../../src/tuning/pointwise-pool';
import { createPointwiseKernel } from '../../src/tuning/pointwise-wasm';
import { pointwiseSums, type PointwiseTask } from '../../src/tuning/pointwise-eval';

describe('PointwiseWorker', () => {
  beforeAll(() => { process.env.QCAL_TEST_TUNE_WORKER = '1'; }); // the built worker script
  afterAll(() => { delete process.env.QCAL_TEST_TUNE_WORKER; });

  const task: PointwiseTask = { op: { kind: 'Relu', inputs: [{ activation: 'x' }], lo: -Infinity, hi: Infinity, output: 'y' }, tensor: 'x', scales: Float32Array.of(127 / 2, 127 / 5) };
  const x = Float32Array.of(-1, 0.3, 2.2, 7, -4, 1.01);
  const y = Float32Array.from(x, (v) => Math.max(0, v));

  it('answers as the kernel does in this thread, moved buffers included, and gives ‖ref‖₁', async () => {
    const w = PointwiseWorker.start()!;
    try {
      const want = pointwiseSums(createPointwiseKernel(), task, (n) => ({ type: 'float32', data: n === 'x' ? x : y, dims: [6] }))!;
      const moved = x.slice();
      const done = await w.run({ x: { type: 'float32', data: moved, dims: [6] }, y: { type: 'float32', data: y, dims: [6] } }, [task], [moved.buffer]);
      expect(moved.length).toBe(0); // transferred
      expect(Array.from(done.sums[0]!)).toEqual(Array.from(want));
      expect(done.l1).toEqual({ y: y.reduce((a, v) => a + v, 0) });
    } finally {
      await w.close();
    }
  });

  it('turns a failing job into a CalibrationError naming the worker, and still closes', async () => {
    const w = PointwiseWorker.start()!;
    try {
      // A tensor without values (a caller's bug): the job fails in the worker.
      await expect(w.run({ x: { type: 'float32', data: null, dims: [6] }, y: { type: 'float32', data: y, dims: [6] } }, [task])).rejects.toThrow(/^auto-tune: elementwise worker: .*null/);
    } finally {
      await w.close();
    }
    await expect(w.run({}, [task])).rejects.toThrow(/elementwise worker has exited/);
  });
});
