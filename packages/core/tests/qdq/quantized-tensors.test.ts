/**
 * Calibrating only `quantizedTensorNames` must lose nothing: the QDQ model written from a table of
 * those tensors equals, byte for byte, the one written from a table of every float activation.
 */
import { loadModel, indexGraph, buildQdqModel, encodeModel, quantizedTensorNames, type CalibrationTable } from '@qcal/core';
import { CLS_MODEL, DET_MODEL } from '../../../../test-support/paths';

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
});
