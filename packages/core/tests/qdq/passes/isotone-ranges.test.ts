import { makeFloatTensor } from '../../../src/onnx/model';
import { intAttr, makeNode } from '../../../src/onnx/graph-builder';
import { findIsotoneTensors, isotoneRanges, isotoneRange } from '../../../src/qdq/passes/isotone-ranges';
import { buildQdqModelWithPasses } from '../../../src/qdq/passes/pipeline';
import type { CalibrationTable } from '../../../src/table';
import { feed, model, rng, runAll } from './pass-support';

describe('isotone (order-preserving) ranges', () => {
  it('range: the most rows keep top-1 over top-2, hand-worked', () => {
    // Rows (L1, L2): (10, 9.9), (5, 4), (3, 1); collector range [0, 255] (step 1, half 0.5): the gap
    // 0.1 of the first row is below half a step → 2 rows kept. [0, 9.9] (half 0.0194) keeps all
    // three; hi = 4 clips 9.9, hi = 1 clips 4 and 9.9. lo = 1 (the smallest L2) gives the same count
    // on a narrower range, so lo stays 0.
    expect(isotoneRange([10, 5, 3], [9.9, 4, 1], 0, 255)).toEqual({ min: 0, max: 9.9, kept: 3, keptBefore: 2, rows: 3 });
    // Already order-preserving: the collector's range stays (the widest among the best).
    expect(isotoneRange([10, 5, 3], [9.9, 4, 1], 0, 12)).toEqual({ min: 0, max: 12, kept: 3, keptBefore: 3, rows: 3 });
    // A wide negative side: [−600, 12] has half a step 1.2 > every gap but row 3's; raising lo to
    // the smallest L2 (1) gives half a step 0.0215 (the grid starts at min(lo, 0) = 0): all kept.
    expect(isotoneRange([10, 5, 3], [9.9, 4, 1], -600, 12)).toEqual({ min: 1, max: 12, kept: 3, keptBefore: 1, rows: 3 });
    // Non-finite rows are ignored; a candidate below the lower bound is not taken.
    expect(isotoneRange([NaN, 5], [1, 4], 4.5, 4.6)).toEqual({ min: 4.5, max: 4.6, kept: 0, keptBefore: 0, rows: 1 });
  });

  it('finds the input of an output Softmax (not an inner one) or of an ArgMax over the last axis', () => {
    const m = model(['x', [2, 5]], ['p', [2, 5]], [
      makeNode('Softmax', ['x'], ['inner'], 'sm0', [intAttr('axis', -1)]),
      makeNode('MatMul', ['inner', 'W'], ['z'], 'mm'),
      makeNode('Softmax', ['z'], ['p'], 'sm1', [intAttr('axis', -1)]),
      makeNode('ArgMax', ['x'], ['a'], 'am', [intAttr('axis', -1)]),
    ], [makeFloatTensor('W', [5, 5], new Array(25).fill(0.2))]);
    expect(findIsotoneTensors(m)).toEqual(['z', 'x']);
  });

  it('measures the top-2 of every row in the graph and rewrites the bound; argmax of the INT8 model follows', async () => {
    // logits z = x·W with rows whose top-2 are close; a collector range [−40, 40] puts half a step at
    // 0.157 — larger than every gap: the top-2 tie and the argmax goes to the first (wrong) column.
    const C = 6, T = 8;
    const r = rng(3);
    const m = model(['x', [T, C]], ['p', [T, C]], [makeNode('MatMul', ['x', 'W'], ['z'], 'mm'), makeNode('Softmax', ['z'], ['p'], 'sm', [intAttr('axis', -1)])],
      [makeFloatTensor('W', [C, C], Array.from({ length: C * C }, (_, i) => (i % (C + 1) === 0 ? 1 : 0)))]);
    // Each row: column 0 = b, column 1 = b + g (the argmax), the others below b − 1; b in [0, 3), g in [0.01, 0.05).
    const sample = () => {
      const x = new Float32Array(T * C);
      for (let t = 0; t < T; t++) {
        const b = 3 * r(), g = 0.01 + 0.04 * r();
        for (let c = 0; c < C; c++) x[t * C + c] = c === 0 ? b : c === 1 ? b + g : b - 1 - r();
      }
      return feed('x', [T, C], x);
    };
    const calib = Array.from({ length: 4 }, sample), held = Array.from({ length: 4 }, sample);
    const table: CalibrationTable = { collector: 't', options: {}, tensors: { x: { min: -2, max: 3.1 }, z: { min: -40, max: 40 } } };
    const iso = await isotoneRanges(m, table, calib);
    expect(iso.tensors).toEqual([expect.objectContaining({ name: 'z', before: { min: -40, max: 40 }, rows: 32, keptAfter: 32 })]);
    expect(iso.tensors[0]!.keptBefore).toBeLessThan(32);
    expect(iso.table.tensors.z!.max).toBeLessThanOrEqual(3);
    expect(iso.table.tensors.z!.min).toBeGreaterThanOrEqual(0);
    const argmax = (rows: Float32Array) => Array.from({ length: T }, (_, t) => { let b = 0; for (let c = 1; c < C; c++) if (rows[t * C + c]! > rows[t * C + b]!) b = c; return b; });
    const fp = (await runAll(m, held)).map(argmax);
    const agree = async (opts: object) => { const q = await buildQdqModelWithPasses(m, table, opts); return (await runAll(q.model, held)).map(argmax).flat().filter((v, i) => v === fp.flat()[i]).length; };
    // Held-out rows: the plain range ties nearly every row; the isotone one keeps most (a held-out
    // L2 above the calibration's largest still clips).
    const plain = await agree({}), isotone = await agree({ isotone: true, calibration: calib });
    expect(plain).toBeLessThan(T * held.length / 2);
    expect(isotone).toBeGreaterThanOrEqual(0.8 * T * held.length);
  });
});
