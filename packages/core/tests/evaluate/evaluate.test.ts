import { accumulate, compareWorstFirst, createAccumulator, finishMetrics } from '../../src/evaluate/metrics';
import { evaluateModels } from '../../src/evaluate/evaluate-models';
import { evaluationToJson, formatEvaluation, formatEvaluationSummary } from '../../src/evaluate/format-evaluation';
import { encodeModel, loadModel } from '../../src/onnx/model';
import { buildQdqModel } from '../../src/qdq/build-qdq';
import { DataError } from '../../src/errors';
import { MODELS, minMaxTable, modelFeeds } from '../qdq/support';

describe('metrics', () => {
  it('cosine, SQNR and max abs error accumulate over batches like one long vector', () => {
    const ref = [1, 2, 3, 4], test = [1.1, 1.9, 3, 4.2];
    const acc = createAccumulator();
    accumulate(acc, ref.slice(0, 2), test.slice(0, 2));
    accumulate(acc, ref.slice(2), test.slice(2));
    const m = finishMetrics('t', acc);
    const dot = ref.reduce((s, r, i) => s + r * test[i]!, 0);
    const nr = Math.hypot(...ref), nt = Math.hypot(...test);
    expect(m.cosine).toBeCloseTo(dot / (nr * nt), 12);
    expect(m.sqnrDb).toBeCloseTo(10 * Math.log10(30 / (0.01 + 0.01 + 0 + 0.04)), 10);
    expect(m.maxAbsError).toBeCloseTo(0.2, 12);
    expect(m.elements).toBe(4);
  });
  it('identical inputs: cosine 1, SQNR infinite; zeros: cosine 1; one side zero: cosine 0', () => {
    const a = createAccumulator(); accumulate(a, [1, -2], [1, -2]);
    expect(finishMetrics('a', a)).toMatchObject({ cosine: 1, sqnrDb: Infinity, maxAbsError: 0 });
    const z = createAccumulator(); accumulate(z, [0, 0], [0, 0]);
    expect(finishMetrics('z', z).cosine).toBe(1);
    const o = createAccumulator(); accumulate(o, [0, 0], [1, 0]);
    expect(finishMetrics('o', o).cosine).toBe(0);
  });
  it('NaN propagates and sorts first', () => {
    const n = createAccumulator(); accumulate(n, [NaN], [1]);
    const good = createAccumulator(); accumulate(good, [1], [1]);
    const list = [finishMetrics('good', good), finishMetrics('nan', n)].sort(compareWorstFirst);
    expect(list[0]!.name).toBe('nan');
    expect(Number.isNaN(list[0]!.cosine)).toBe(true);
  });
});

describe('evaluateModels (PP-OCRv4 classifier)', () => {
  it('outputs and per-layer metrics, worst first; JSON and table output', async () => {
    const data = modelFeeds('cls', [7, 8]);
    const table = await minMaxTable(MODELS.cls.path, data);
    const { model } = loadModel(MODELS.cls.path);
    const { model: q, report: qr } = buildQdqModel(model, table);
    let progress = 0;
    const report = await evaluateModels({
      fp32Model: MODELS.cls.path,
      int8Model: encodeModel(q),
      batches: (async function* () { for (const d of data) yield d; })(),
      perLayer: true,
      latencyRuns: 2,
      onProgress: (n) => { progress = n; },
    });
    expect(report.samples).toBe(2);
    expect(progress).toBe(2);
    expect(report.outputs.map((o) => o.name)).toEqual(['softmax_0.tmp_0']);
    // measured 0.89 on these two samples (a 2-class softmax near its decision boundary amplifies
    // small logit errors); the same tables on seeds 5-6 give 0.99999.
    expect(report.outputs[0]!.cosine).toBeGreaterThan(0.8);
    expect(report.layers!.length).toBe(qr.tensors.length);
    for (let i = 1; i < report.layers!.length; i++) expect(report.layers![i]!.cosine).toBeGreaterThanOrEqual(report.layers![i - 1]!.cosine);
    expect(report.layers!.every((l) => l.cosine > 0.5 && l.cosine <= 1 + 1e-9)).toBe(true);
    expect(report.latency!.fp32Ms).toBeGreaterThan(0);
    const text = formatEvaluation(report, { limit: 5 });
    expect(text).toMatch(/softmax_0\.tmp_0\s+0\.\d{6}/);
    // Every tensor the QDQ model quantizes (the inner tensors of fused activations are not among them).
    expect(text).toContain(`per layer, worst first (5 of ${qr.tensors.length})`);
    expect(formatEvaluationSummary(report, 'minmax: ')).toMatch(/^minmax: softmax_0.tmp_0: cos 0\.\d{4}, SQNR/);
    expect(JSON.parse(evaluationToJson(report)).outputs[0].name).toBe('softmax_0.tmp_0');
  });

  it('the FP32 model against itself: exact; missing tensors are listed; no data is an error', async () => {
    const r = await evaluateModels({ fp32Model: MODELS.cls.path, int8Model: MODELS.cls.path, batches: modelFeeds('cls', [1]), perLayer: true, tensors: ['x', 'nope'], latencyRuns: 0 });
    expect(r.outputs[0]).toMatchObject({ cosine: 1, sqnrDb: Infinity });
    expect(r.missing).toEqual(['nope']);
    expect(JSON.parse(evaluationToJson(r)).outputs[0].sqnrDb).toBe('inf');
    await expect(evaluateModels({ fp32Model: MODELS.cls.path, int8Model: MODELS.cls.path, batches: [], latencyRuns: 0 })).rejects.toThrow(DataError);
  });
});
