/**
 * encodeEditedModel: an edited model of one loadModel read is written with its unchanged nodes
 * copied from the file's bytes. The message must be the one encodeModel writes (decoded and
 * encoded again: the same bytes), and onnxruntime must compute the same outputs from it.
 */
import * as ort from 'onnxruntime-node';
import * as fs from 'node:fs';
import { DataType, decodeModel, encodeModel, instrumentModel, loadModel, type OnnxModel, type OnnxNode } from '@qcal/core';
import { encodeEditedModel } from '../../src/onnx/model';
import { CLS_MODEL, REC_MODEL } from '../../../../test-support/paths';

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

test('an instrumented PP-OCRv4 model: the message encodeModel writes, and the same outputs in onnxruntime', async () => {
  const { model } = loadModel(CLS_MODEL);
  const tensors = model.graph!.node.filter((n) => n.opType === 'Relu' || n.opType === 'Conv').map((n) => n.output[0]!);
  const inst = instrumentModel(model, { full: tensors.slice(0, 3), range: tensors.slice(3) });
  const full = encodeModel(inst.model);
  const edited = encodeEditedModel(inst.model, model);
  // The nodes really came from the file: its node bytes differ from protobufjs's own encoding
  // (here, by length), while the decoded message is the same.
  expect(same(edited, full)).toBe(false);
  expect(same(encodeModel(decodeModel(edited)), full)).toBe(true);
  // A buffer of its own (it can move to a worker thread).
  expect(edited.byteOffset).toBe(0);
  expect(edited.byteLength).toBe(edited.buffer.byteLength);

  const x = new Float32Array(3 * 48 * 192);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.37) * 1.5;
  const run = async (bytes: Uint8Array) => {
    const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
    try {
      const out = await s.run({ [s.inputNames[0]!]: new ort.Tensor('float32', x, [1, 3, 48, 192]) }, inst.fetches);
      return inst.fetches.map((f) => Array.from(out[f]!.data as Float32Array));
    } finally {
      await s.release();
    }
  };
  const a = await run(full);
  expect(a.length).toBe(4);
  expect(await run(edited)).toEqual(a);
});

test('nodes removed, reordered and added, other fields changed: the message encodeModel writes', () => {
  const { model } = loadModel(REC_MODEL);
  const nodes = model.graph!.node;
  const added: OnnxNode = { opType: 'Identity', input: [nodes[0]!.output[0]!], output: ['fx_extra'], name: 'fx_extra', attribute: [] };
  const edited: OnnxModel = {
    ...model,
    producerName: 'edited',
    metadataProps: [{ key: 'k', value: 'v' }],
    graph: {
      ...model.graph!,
      name: 'g2',
      node: [nodes[1]!, nodes[0]!, added, ...nodes.slice(3), { ...nodes[2]!, name: 'renamed' }],
      output: [...model.graph!.output, { name: 'fx_extra', type: { tensorType: { elemType: DataType.FLOAT } } }],
    },
  };
  const bytes = encodeEditedModel(edited, model);
  expect(same(encodeModel(decodeModel(bytes)), encodeModel(edited))).toBe(true);
  expect(decodeModel(bytes).graph!.node.map((n) => n.name)).toEqual(edited.graph!.node.map((n) => n.name));
});

test('a model not read by loadModel (or with no node kept) is encoded by encodeModel', () => {
  const { model } = loadModel(CLS_MODEL);
  const copy = decodeModel(fs.readFileSync(CLS_MODEL));
  const inst = instrumentModel(copy, { full: [], range: [copy.graph!.node[0]!.output[0]!] });
  expect(same(encodeEditedModel(inst.model, copy), encodeModel(inst.model))).toBe(true);
  const replaced = { ...model, graph: { ...model.graph!, node: model.graph!.node.map((n) => ({ ...n })) } };
  expect(same(encodeEditedModel(replaced, model), encodeModel(replaced))).toBe(true);
});
