import * as ort from 'onnxruntime-node';
import { ModelError } from '../../src/errors';
import { encodeModel, loadModel, opsetVersion, type OnnxModel } from '../../src/onnx/model';
import { upgradeOpset } from '../../src/onnx/opset-upgrade';
import { MODELS, syntheticFeed } from './support';

async function run(bytes: Uint8Array, h: number, w: number): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes);
  const f = syntheticFeed(3, h, w).x!;
  const out = await s.run({ x: new ort.Tensor('float32', f.data as Float32Array, [...f.dims]) });
  const r = Float32Array.from(out[s.outputNames[0]!]!.data as Float32Array);
  await s.release();
  return r;
}

describe('upgradeOpset to 13', () => {
  it.each(['cls', 'rec'] as const)('%s (opset 9): converted ops, same outputs as the original in onnxruntime', async (key) => {
    const { path, h, w } = MODELS[key];
    const { model, bytes } = loadModel(path);
    const before = JSON.stringify(model.graph!.node.slice(0, 5));
    const up = upgradeOpset(model);
    expect(up).toMatchObject({ from: 9, to: 13 });
    expect(opsetVersion(up.model)).toBe(13);
    expect(up.converted.Clip).toBeGreaterThan(0);
    expect(up.converted.Softmax).toBeGreaterThan(0);
    expect(JSON.stringify(model.graph!.node.slice(0, 5))).toBe(before); // input untouched
    const [a, b] = [await run(bytes, h, w), await run(encodeModel(up.model), h, w)];
    expect(b.length).toBe(a.length);
    let maxDiff = 0;
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
    expect(maxDiff).toBeLessThan(1e-6);
    // every original tensor keeps its name
    const names = new Set(up.model.graph!.node.flatMap((n) => n.output));
    expect(model.graph!.node.flatMap((n) => n.output).filter((o) => !names.has(o))).toEqual([]);
  });

  it('leaves an opset-13+ model alone', () => {
    const { model } = loadModel(MODELS.cls.path);
    const up = upgradeOpset(upgradeOpset(model).model);
    expect(up.converted).toEqual({});
  });

  it('names ops it cannot convert, and converts nothing', () => {
    const { model } = loadModel(MODELS.cls.path);
    const g = model.graph!;
    const bad: OnnxModel = { ...model, graph: { ...g, node: [...g.node, { opType: 'Loop', input: [], output: ['l'], attribute: [] }, { opType: 'FancyOp', input: ['x'], output: ['f'], attribute: [] }] } };
    expect(() => upgradeOpset(bad)).toThrow(ModelError);
    expect(() => upgradeOpset(bad)).toThrow(/Loop \(ops with subgraphs.*FancyOp \(not known/);
  });
});
