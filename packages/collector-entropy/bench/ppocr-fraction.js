#!/usr/bin/env node
'use strict';
/**
 * What the entropy collector adds to a calibration run of the PP-OCRv4 recognizer.
 * Build first (`npx tsc -b`), then run from the repository root:
 *   node packages/collector-entropy/bench/ppocr-fraction.js [repeats]
 * It runs (1) plain FP32 inference of the unmodified model over the example's calibration lines,
 * (2) a calibration with `minmax` only (min/max reduced in-graph: the cheapest possible run) and
 * (3) with `entropy` (every float activation exposed and histogrammed), and prints core's timings.
 * The entropy collector's own share is its collect + postCollect time.
 */
const path = require('node:path');
const core = require('@qcal/core');
const { minmaxCollector } = require('@qcal/collector-minmax');
const { entropyCollector } = require('../dist/index.js');

const root = path.resolve(__dirname, '..', '..', '..');
const model = path.join(root, 'node_modules', '@gutenye', 'ocr-models', 'assets', 'ch_PP-OCRv4_rec_infer.onnx');
const data = { data: path.join(root, 'examples', 'ppocr-rec', 'data', 'list.txt') };
const repeats = Number(process.argv[2] || 3);

const resolved = (def, options = {}) => ({ name: def.name, definition: def, options: Object.freeze({ ...def.defaultOptions, ...options }), source: 'bench' });

async function plainInference() {
  const prepared = await core.prepareCalibration({ model, data, collectors: [resolved(minmaxCollector)] });
  const bytes = require('node:fs').readFileSync(model);
  const session = await core.createSession(bytes, model);
  const outputs = session.outputNames;
  let ms = 0;
  let n = 0;
  for await (const batch of prepared.data.batches()) {
    const t = performance.now();
    await core.runBatch(session, batch.feeds, outputs, 'plain');
    ms += performance.now() - t;
    n += batch.ids.length;
  }
  await session.release();
  return { ms, n };
}

async function run(collectors) {
  const r = await core.calibrate({ model, data, collectors });
  return r;
}

(async () => {
  const best = {};
  const keep = (k, v) => { if (!(k in best) || v < best[k]) best[k] = v; };
  let samples = 0;
  let tensors = 0;
  for (let i = 0; i < repeats; i++) {
    const p = await plainInference();
    samples = p.n;
    keep('plain', p.ms);
    const m = await run([resolved(minmaxCollector)]);
    keep('minmax.total', m.timings.totalMs);
    keep('minmax.inference', m.timings.inferenceMs);
    const e = await run([resolved(entropyCollector)]);
    tensors = Object.keys(e.results[0].table.tensors).length;
    keep('entropy.total', e.timings.totalMs);
    keep('entropy.inference', e.timings.inferenceMs);
    keep('entropy.collect', e.timings.collectMs);
    keep('entropy.postCollect', e.timings.postCollectMs);
    keep('entropy.collector', e.timings.collectMs + e.timings.postCollectMs);
  }
  const f = (x) => `${x.toFixed(0)} ms`;
  console.log(`PP-OCRv4 rec, ${samples} samples, ${tensors} tensors calibrated by entropy; best of ${repeats}`);
  for (const [k, v] of Object.entries(best)) console.log(`${k.padEnd(22)} ${f(v).padStart(10)}  (${(v / best.plain).toFixed(2)}× plain inference)`);
  console.log(`entropy collector (collect + postCollect) / entropy run total: ${(100 * best['entropy.collector'] / best['entropy.total']).toFixed(1)}%`);
})().catch((e) => { console.error(e); process.exit(1); });
