/**
 * Calibrating only `quantizedTensorNames` must lose nothing: the QDQ model written from a table of
 * those tensors equals, byte for byte, the one written from a table of every float activation.
 */
import { loadModel, indexGraph, buildQdqModel, encodeModel, quantizedTensorNames, type CalibrationTable } from '@qcal/core';
import { CLS_MODEL, DET_MODEL, REC_MODEL } from '../../../../test-support/paths';
import { prepareQdqShape, prepareQdqWork } from '../../src/qdq/build-qdq';
import { quantizedTensorsOf } from '../../src/qdq/quantized-tensors';

function table(names: string[], path: string): CalibrationTable {
  const tensors: CalibrationTable['tensors'] = {};
  // Distinct, deterministic ranges so that any tensor taking another's parameters would show.
  names.forEach((n, i) => { tensors[n] = { min: -(1 + (i % 7) / 8), max: 2 + (i % 5) / 4 }; });
  return { collector: 'test', options: {}, model: path, samples: 1, tensors, meta: {} } as unknown as CalibrationTable;
}

describe('quantizedTensorNames', () => {
  it.each([['cls', CLS_MODEL], ['det', DET_MODEL]])('%s: a table of the quantized tensors gives the same QDQ model as a table of all', (_k, file) => {
    const { model } = loadModel(file);
    const all = indexGraph(model).calibratable.map((t) => t.name);
    const q = quantizedTensorNames(model)!;
    expect(q.size).toBeGreaterThan(0);
    expect(q.size).toBeLessThan(all.length);
    const full = table(all, file);
    const sub = { ...full, tensors: Object.fromEntries(Object.entries(full.tensors).filter(([n]) => q.has(n))) };
    const a = buildQdqModel(model, full);
    const b = buildQdqModel(model, sub);
    expect(b.report.tensors).toEqual(a.report.tensors);
    expect(Buffer.from(encodeModel(b.model)).equals(Buffer.from(encodeModel(a.model)))).toBe(true);
  });

  // The set is computed on the writer's graph without its weight arithmetic (prepareQdqShape):
  // the same graph (nodes, tensor names and shapes, folds) as the writer's own, hence the same set.
  it.each([['cls', CLS_MODEL], ['det', DET_MODEL], ['rec', REC_MODEL]])('%s: the shape-only preparation has the writer\'s graph and gives the same set', (_k, file) => {
    const { model } = loadModel(file);
    for (const foldAffine of [true, false]) {
      const shape = prepareQdqShape(model, { foldAffine });
      const full = prepareQdqWork(model, { foldAffine });
      expect(shape.fold.folded).toEqual(full.fold.folded);
      const strip = (m: typeof model) => ({
        node: m.graph!.node.map((n) => JSON.stringify(n)),
        initializer: m.graph!.initializer.map((t) => [t.name, t.dims, t.dataType]),
        valueInfo: m.graph!.valueInfo.map((v) => v.name),
      });
      expect(strip(shape.fold.model)).toEqual(strip(full.fold.model));
      const want = quantizedTensorsOf(model, full.fold.model);
      expect(foldAffine ? quantizedTensorNames(model) : quantizedTensorNames(model, 'smart', { foldAffine })).toEqual(want);
    }
    // The BN/affine folds happened (rec: PP-LCNet's learnable affine Mul/Add), so the check had something to compare.
    expect(prepareQdqWork(model).fold.folded.length).toBeGreaterThan(0);
  });
});
