import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { decodeModel, tensorToFloat32, writeNpy } from '@qcal/core';
import { TINY_TRANSFORMER, TINY_TRANSFORMER_DIR } from '../../../test-support/paths';
import { qcal, tmpDir, readJson } from './helpers';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const ds = require(path.join(TINY_TRANSFORMER_DIR, 'dataset.js')) as {
  SEQ: number; CALIB_SEED: number; EVAL_SEED: number;
  makeSamples(seed: number, n: number): { ids: number[]; label: number }[];
  accuracy(logits: ArrayLike<number>, samples: { label: number }[]): number;
};

async function accuracyOf(model: string, samples: { ids: number[]; label: number }[]): Promise<{ acc: number; logits: Float32Array }> {
  const s = await ort.InferenceSession.create(model);
  const ids = BigInt64Array.from(samples.flatMap((x) => x.ids).map(BigInt));
  const out = await s.run({ input_ids: new ort.Tensor('int64', ids, [samples.length, ds.SEQ]) });
  await s.release();
  const logits = out.logits!.data as Float32Array;
  return { acc: ds.accuracy(logits, samples), logits };
}

describe('a small trained transformer (test-fixtures/tiny-transformer)', () => {
  it('int64 token input, Gather embedding, LayerNorm, attention, GELU: calibrated, QDQ on both inputs of the attention MatMuls, INT8 agrees with FP32', async () => {
    const dir = tmpDir();
    fs.mkdirSync(path.join(dir, 'calib'));
    ds.makeSamples(ds.CALIB_SEED, 32).forEach((s, i) => fs.writeFileSync(path.join(dir, 'calib', `s${String(i).padStart(3, '0')}.npy`), writeNpy(BigInt64Array.from(s.ids.map(BigInt)), [s.ids.length], 'int64')));
    const r = await qcal(['calibrate', '--model', TINY_TRANSFORMER, '--data', 'calib', '--qdq', '--collector', 'minmax', '--out', 'out', '--quiet'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const table = readJson(path.join(dir, 'out', 'minmax.table.json'));
    // Softmax outputs are probabilities; the embedding output is calibrated like any activation.
    const sm = table.tensors['/layer0/attn/Softmax_output_0'];
    expect(sm.min).toBeGreaterThanOrEqual(0);
    expect(sm.max).toBeLessThanOrEqual(1);
    expect(table.tensors['/embed/Gather_output_0']).toBeDefined();

    const q = decodeModel(fs.readFileSync(path.join(dir, 'out', 'minmax.qdq.onnx')));
    const producer = new Map(q.graph!.node.flatMap((n) => n.output.map((o) => [o, n.opType] as const)));
    const node = (name: string) => q.graph!.node.find((n) => n.name === name)!;
    for (const l of [0, 1]) {
      // Activation × activation MatMuls: both inputs quantized (QLinearMatMul / MatMulIntegerToFloat).
      for (const m of [`/layer${l}/attn/MatMul_qk`, `/layer${l}/attn/MatMul_pv`]) expect(node(m).input.map((i) => producer.get(i))).toEqual(['DequantizeLinear', 'DequantizeLinear']);
      // LayerNormalization and Erf have no integer kernel: they run in float on dequantized inputs.
      expect(node(`/layer${l}/ln1/LayerNormalization`).opType).toBe('LayerNormalization');
      expect(producer.get(node(`/layer${l}/mlp/gelu/Erf`).input[0]!)).toBe('Div');
    }

    // The embedding table is quantized (8-bit rows, one scale) and the Gather output shares its grid.
    const gather = node('/embed/Gather');
    expect(producer.get(gather.input[0]!)).toBe('DequantizeLinear');
    expect(q.graph!.initializer.some((t) => t.name === 'token_embedding')).toBe(false);
    // Softmax output on onnxruntime's fixed probability grid: uint8, scale 1/256, zero point 0.
    const qSoftmax = q.graph!.node.find((n) => n.opType === 'QuantizeLinear' && n.input[0] === '/layer0/attn/Softmax_output_0')!;
    const scale = q.graph!.initializer.find((t) => t.name === qSoftmax.input[1])!;
    expect(tensorToFloat32(scale)[0]).toBeCloseTo(1 / 256, 10);

    const evalSet = ds.makeSamples(ds.EVAL_SEED, 200);
    const fp = await accuracyOf(TINY_TRANSFORMER, evalSet);
    const int8 = await accuracyOf(path.join(dir, 'out', 'minmax.qdq.onnx'), evalSet);
    expect(fp.acc).toBeGreaterThan(0.95);
    expect(int8.acc).toBeGreaterThanOrEqual(fp.acc - 0.02);
    let dot = 0, na = 0, nb = 0;
    fp.logits.forEach((a, i) => { const b = int8.logits[i]!; dot += a * b; na += a * a; nb += b * b; });
    expect(dot / Math.sqrt(na * nb)).toBeGreaterThan(0.999);
  });
});
