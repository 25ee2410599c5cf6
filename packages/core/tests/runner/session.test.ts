/** Session settings: the QDQ transformers switch and its guard, intra-op spinning. */
import * as ort from 'onnxruntime-node';
import { AttributeType, DataType, encodeModel, makeFloatTensor, makeIntTensor, type OnnxModel, type OnnxNode } from '@qcal/core';
import { createSession, hasQdqNodes } from '../../src/runner/session';

const node = (opType: string, input: string[], output: string[], attribute: OnnxNode['attribute'] = []): OnnxNode => ({ opType, input, output, name: `n_${output[0]}`, attribute });
const vi = (n: string) => ({ name: n, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimValue: 1 }, { dimValue: 4 }] } } } });

function model(nodes: OnnxNode[]): OnnxModel {
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: { name: 'g', node: nodes, initializer: [makeFloatTensor('s', [], [0.5]), makeIntTensor('z', [], DataType.INT8, [0])], input: [vi('x')], output: [vi('y')], valueInfo: [] },
  } as OnnxModel;
}

test('hasQdqNodes finds QuantizeLinear/DequantizeLinear, also inside an If body', () => {
  expect(hasQdqNodes(model([node('Relu', ['x'], ['y'])]))).toBe(false);
  expect(hasQdqNodes(model([node('QuantizeLinear', ['x', 's', 'z'], ['q']), node('DequantizeLinear', ['q', 's', 'z'], ['y'])]))).toBe(true);
  const body = (op: string) => ({ name: 'b', node: [node(op, ['x', 's', 'z'], ['o'])], initializer: [], input: [], output: [vi('o')], valueInfo: [] });
  const withIf = model([node('If', ['c'], ['y'], [{ name: 'then_branch', type: AttributeType.GRAPH, g: body('Relu') }, { name: 'else_branch', type: AttributeType.GRAPH, g: body('DequantizeLinear') }])]);
  expect(hasQdqNodes(withIf)).toBe(true);
});

test('a session with the QDQ transformers off, or intra-op spinning off, computes a float model as the default one', async () => {
  const m = model([node('Mul', ['x', 's'], ['h']), node('Relu', ['h'], ['y'])]);
  const x = Float32Array.of(-1, 0.25, 3, -7);
  const outs: number[][] = [];
  for (const settings of [{}, { qdqTransformers: false }, { intraOpSpinning: false, intraOpNumThreads: 2 }, { qdqTransformers: false, intraOpSpinning: false }]) {
    const s = await createSession(encodeModel(m), 'm', settings);
    const o = await s.run({ x: new ort.Tensor('float32', x, [1, 4]) });
    outs.push(Array.from(o.y!.data as Float32Array));
    await s.release();
  }
  for (const o of outs) expect(o).toEqual([0, 0.125, 1.5, 0]);
});
