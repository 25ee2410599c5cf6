import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { TableError } from '../../src/errors';
import { evaluateModels } from '../../src/evaluate/evaluate-models';
import { inspectKernels } from '../../src/evaluate/kernel-usage';
import { DataType, encodeModel, getAttribute, loadModel, opsetVersion, tensorDims, tensorToFloat32, type OnnxTensor } from '../../src/onnx/model';
import { buildQdqModel } from '../../src/qdq/build-qdq';
import { quantizeFile } from '../../src/qdq/quantize-file';
import type { CalibrationTable } from '../../src/table';
import { MODELS, minMaxTable, modelFeeds } from './support';

const feeds = modelFeeds;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qcal-qdq-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('buildQdqModel on the PP-OCRv4 classifier', () => {
  let table: CalibrationTable;
  beforeAll(async () => { table = await minMaxTable(MODELS.cls.path, feeds('cls', [1, 2, 3, 4]), true); });

  it('with symmetric min/max ranges: outputs close to FP32 in onnxruntime, integer kernels used', async () => {
    const { model } = loadModel(MODELS.cls.path);
    const { model: q, report } = buildQdqModel(model, table);
    // Opset 9 upgraded to 13, then declared 14 for the HardSwish nodes of its decomposed HardSwish chains (fuse-activations).
    expect(opsetVersion(q)).toBe(14);
    expect(report.foldedBatchNorms.length).toBe(35);
    expect(report.weights.filter((w) => w.opType === 'Conv').length).toBe(53);
    // inputs and outputs unchanged
    expect(JSON.stringify(q.graph!.input)).toBe(JSON.stringify(model.graph!.input));
    expect(JSON.stringify(q.graph!.output)).toBe(JSON.stringify(model.graph!.output));
    const bytes = encodeModel(q);
    const ev = await evaluateModels({ fp32Model: MODELS.cls.path, int8Model: bytes, batches: feeds('cls', [1, 2, 3, 4]), latencyRuns: 0 });
    // measured: cosine 0.9765, SQNR 13.3 dB over the 4×2 softmax outputs (symmetric min/max widens
    // every Relu output to [-t, t]: half the uint8 steps); asymmetric min/max gives 0.99999.
    // eslint-disable-next-line no-console
    console.log(`cls: output cosine ${ev.outputs[0]!.cosine.toFixed(5)}, SQNR ${ev.outputs[0]!.sqnrDb.toFixed(2)} dB`);
    expect(ev.outputs[0]!.cosine).toBeGreaterThan(0.97);
    const k = await inspectKernels(bytes);
    expect(k.integerNodes.QLinearConv).toBe(53);
    expect(k.floatComputeNodes.Conv ?? 0).toBe(0);
  });

  it('weights: per-channel int8, dequantized within half a step of the original weights (checked from the model file)', () => {
    const { model } = loadModel(MODELS.cls.path);
    const { model: q } = buildQdqModel(model, table, { foldBatchNorm: false, reduceRange: false });
    const orig = new Map<string, OnnxTensor>();
    for (const n of model.graph!.node) if (n.opType === 'Constant') orig.set(n.output[0]!, getAttribute(n, 'value')!.t!);
    const inits = new Map(q.graph!.initializer.map((t) => [t.name!, t]));
    const producer = new Map(q.graph!.node.flatMap((n) => n.output.map((o) => [o, n] as const)));
    let checked = 0;
    for (const conv of q.graph!.node.filter((n) => n.opType === 'Conv')) {
      const dq = producer.get(conv.input[1]!)!;
      expect(dq.opType).toBe('DequantizeLinear');
      const [qw, sc, zp] = dq.input.map((i) => inits.get(i)!);
      expect(qw!.dataType).toBe(DataType.INT8);
      expect(Array.from(tensorToFloat32(zp!)).every((z) => z === 0)).toBe(true);
      const w = orig.get(dq.input[0]!.replace(/_quantized$/, ''))!;
      const wv = tensorToFloat32(w), qv = tensorToFloat32(qw!), s = tensorToFloat32(sc!);
      const cout = tensorDims(w)[0]!;
      expect(s.length).toBe(cout);
      const inner = wv.length / cout;
      let worst = 0, maxQ = 0;
      for (let i = 0; i < wv.length; i++) {
        const step = s[Math.floor(i / inner)]!;
        worst = Math.max(worst, Math.abs(qv[i]! * step - wv[i]!) / step);
        maxQ = Math.max(maxQ, Math.abs(qv[i]!));
      }
      expect(worst).toBeLessThanOrEqual(0.5 + 1e-4);
      expect(maxQ).toBe(127); // max-abs maps to ±127
      // bias: int32, scale = input scale × weight scale
      const bdq = conv.input[2] ? producer.get(conv.input[2]) : undefined;
      if (bdq) {
        expect(inits.get(bdq.input[0]!)!.dataType).toBe(DataType.INT32);
        const xs = tensorToFloat32(inits.get(producer.get(conv.input[0]!)!.input[1]!)!)[0]!;
        const bs = tensorToFloat32(inits.get(bdq.input[1]!)!);
        bs.forEach((v, c) => expect(v).toBeCloseTo(Math.fround(xs * s[c]!), 12));
      }
      checked++;
    }
    expect(checked).toBe(53);
  });

  it('exclude keeps a tensor and an op type float', () => {
    const { model } = loadModel(MODELS.cls.path);
    const { report } = buildQdqModel(model, table, { exclude: ['x', 'op:MatMul'] });
    expect(report.tensors.some((t) => t.name === 'x')).toBe(false);
    expect(report.skipped).toContainEqual({ name: 'x', reason: 'excluded' });
    expect(report.weights.some((w) => w.opType === 'MatMul')).toBe(false);
  });

  it('bad tables: clear errors, nothing written', async () => {
    const out = path.join(tmp, 'bad.qdq.onnx');
    const t = (tensors: CalibrationTable['tensors']): CalibrationTable => ({ ...table, tensors });
    const first = Object.keys(table.tensors)[0]!;
    await expect(quantizeFile({ model: MODELS.cls.path, table: t({ ...table.tensors, 'no/such/tensor': { op: '', min: 0, max: 1 } }), outPath: out }))
      .rejects.toThrow(/not in the model.*"no\/such\/tensor"/s);
    await expect(quantizeFile({ model: MODELS.cls.path, table: t({ [first]: { op: '', min: 2, max: 1 } }), outPath: out })).rejects.toThrow(/min 2 > max 1/);
    await expect(quantizeFile({ model: MODELS.cls.path, table: t({ [first]: { op: '', min: NaN, max: 1 } }), outPath: out })).rejects.toThrow(TableError);
    const recTable: CalibrationTable = { ...table, model: 'rec.onnx', tensors: { 'lstm_0.tmp_0': { op: '', min: -1, max: 1 }, 'p2o.MatMul.99': { op: '', min: -1, max: 1 } } };
    await expect(quantizeFile({ model: MODELS.cls.path, table: recTable, outPath: out })).rejects.toThrow(/table of another model \(the table names "rec.onnx"\)/);
    expect(fs.readdirSync(tmp)).toEqual([]);
  });

  it('quantizeFile writes the model atomically and onnxruntime loads it', async () => {
    const tablePath = path.join(tmp, 'minmax.table.json');
    fs.writeFileSync(tablePath, JSON.stringify(table));
    const out = path.join(tmp, 'minmax.qdq.onnx');
    const r = await quantizeFile({ model: MODELS.cls.path, table: tablePath, outPath: out, quantizeMode: 'full' });
    expect(r.report.quantizeMode).toBe('full');
    expect(fs.existsSync(out)).toBe(true);
    const s = await ort.InferenceSession.create(out);
    expect(s.outputNames).toEqual(['softmax_0.tmp_0']);
    await s.release();
  });
});

describe('round trip table → QDQ → onnxruntime (recognizer and detector)', () => {
  // measured with min/max on these samples: rec 0.888-0.898 (SVTR neck; simulated with 8-bit
  // weights 0.93), det 0.987. One sample each keeps the test fast.
  it.each([['rec', 0.85], ['det', 0.95]] as const)('%s', async (key, minCos) => {
    const data = feeds(key, [5]);
    const table = await minMaxTable(MODELS[key].path, data);
    const { model } = loadModel(MODELS[key].path);
    const { model: q, report } = buildQdqModel(model, table);
    expect(report.tensors.length).toBeGreaterThan(50);
    const bytes = encodeModel(q);
    const ev = await evaluateModels({ fp32Model: MODELS[key].path, int8Model: bytes, batches: data, latencyRuns: 0 });
    // eslint-disable-next-line no-console
    console.log(`${key}: output cosine ${ev.outputs[0]!.cosine.toFixed(5)}, SQNR ${ev.outputs[0]!.sqnrDb.toFixed(2)} dB`);
    expect(ev.outputs[0]!.cosine).toBeGreaterThan(minCos);
    const k = await inspectKernels(bytes);
    expect(k.integerNodes.QLinearConv ?? 0).toBeGreaterThan(30);
  });
});
