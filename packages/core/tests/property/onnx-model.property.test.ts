/**
 * Fuzz test of qcal's ONNX reading (own protobuf schema, graph index): damaged model bytes give a
 * model or a ModelError naming the file — never a TypeError from deep inside.
 */
import fc from 'fast-check';
import { decodeModel, encodeModel } from '../../src/onnx/model';
import { indexGraph } from '../../src/onnx/graph-index';
import { tinyModel } from '../../../../test-support/tiny-model';
import { fuzzParams, outcome, mutated } from '../../../../test-support/fuzz';

describe('ONNX model bytes', () => {
  it('mutated model bytes: decoded and indexed, or a ModelError [400 runs]', () => {
    const valid = encodeModel(tinyModel());
    fc.assert(fc.property(mutated(valid), (b) => {
      const o = outcome(() => indexGraph(decodeModel(b, 'm.onnx')));
      if (!o.ok) expect(o.code).toBe('QCAL_MODEL');
    }), fuzzParams(400));
  });
});
