import * as ort from 'onnxruntime-node';
import { encodeModel, loadModel, type OnnxModel } from '../../../src/onnx/model';
import { prepareQdqWork } from '../../../src/qdq/build-qdq';
import { crossLayerEqualization } from '../../../src/qdq/passes/cross-layer-equalization';
import { smoothQuant } from '../../../src/qdq/passes/smooth-quant';
import type { CalibrationTable } from '../../../src/table';
import type { FeedTensor } from '../../../src/tensor';
import { REC_MODEL, TINY_TRANSFORMER } from '../../../../../test-support/paths';
import { textFeed } from '../support';

async function outputs(m: OnnxModel, feeds: readonly Record<string, FeedTensor>[]): Promise<Float32Array[]> {
  const s = await ort.InferenceSession.create(encodeModel(m));
  const out: Float32Array[] = [];
  for (const f of feeds) {
    const r = await s.run(Object.fromEntries(Object.entries(f).map(([k, t]) => [k, new ort.Tensor(t.type as 'float32', t.data as Float32Array, [...t.dims])])));
    out.push(Float32Array.from(r[s.outputNames[0]!]!.data as Float32Array));
  }
  await s.release();
  return out;
}

/** Largest |a − b| relative to the largest |a|. */
function relDiff(a: Float32Array[], b: Float32Array[]): number {
  let d = 0, m = 0;
  a.forEach((x, k) => { for (let i = 0; i < x.length; i++) { d = Math.max(d, Math.abs(x[i]! - b[k]![i]!)); m = Math.max(m, Math.abs(x[i]!)); } });
  return d / m;
}

const empty: CalibrationTable = { collector: 't', options: {}, model: '', samples: 0, tensors: {} };

describe('rewrites keep the float function of real models', () => {
  it('PP-OCRv4 recognizer: SmoothQuant (with inserted Muls) and cross-layer equalization', async () => {
    const work = prepareQdqWork(loadModel(REC_MODEL).model).fold.model;
    const feeds = [textFeed(1, 48, 320), textFeed(2, 48, 320)];
    const cle = await crossLayerEqualization(work, empty, feeds, { activations: true });
    const sq = await smoothQuant(cle.model, empty, feeds, { insertMul: true });
    expect(cle.pairs).toHaveLength(3);
    expect(sq.sites.map((s) => s.fold).sort()).toEqual([...Array(4).fill('Mul+Add'), ...Array(5).fill('insert')].sort());
    expect(relDiff(await outputs(work, feeds), await outputs(sq.model, feeds))).toBeLessThan(1e-4);
  }, 60000);

  it('tiny transformer: SmoothQuant folded into LayerNormalization and inserted', async () => {
    const work = loadModel(TINY_TRANSFORMER).model;
    const ids = (seed: number) => ({ input_ids: { type: 'int64' as const, data: BigInt64Array.from({ length: 16 }, (_, i) => BigInt((i * 7 + seed) % 24)), dims: [1, 16] } });
    const feeds = [ids(1), ids(5)] as unknown as Record<string, FeedTensor>[];
    const sq = await smoothQuant(work, empty, feeds, { insertMul: true, alpha: 0.8 });
    expect(sq.sites).toHaveLength(9);
    expect(relDiff(await outputs(work, feeds), await outputs(sq.model, feeds))).toBeLessThan(1e-4);
  });
});
