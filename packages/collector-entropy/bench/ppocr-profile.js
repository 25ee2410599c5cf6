#!/usr/bin/env node
'use strict';
/**
 * One entropy calibration of the PP-OCRv4 recognizer (12 example lines) with the collector's own
 * time split out (wall and this-thread CPU), optionally saving the collector snapshot for offline
 * KL benchmarks (bench/kl-snapshot.js). Build first (`npx tsc -b`), then from the repository root:
 *   node packages/collector-entropy/bench/ppocr-profile.js [snapshot.json]
 * Add `--cpu-prof` before the script to profile.
 */
const fs = require('node:fs');
const path = require('node:path');
const core = require('@qcal/core');
const { entropyCollector } = require('../dist/index.js');

const root = path.resolve(__dirname, '..', '..', '..');
const model = path.join(root, 'node_modules', '@gutenye', 'ocr-models', 'assets', 'ch_PP-OCRv4_rec_infer.onnx');
const data = { data: path.join(root, 'examples', 'ppocr-rec', 'data', 'list.txt') };
const snapOut = process.argv[2];

let instance;
const t = { collect: 0, collectCpu: 0, post: 0, postCpu: 0, values: 0 };
const wrapped = {
  ...entropyCollector,
  create(options, ctx) {
    instance = entropyCollector.create(options, ctx);
    return {
      collect(name, op, tensor) {
        const c0 = process.cpuUsage(); const w0 = performance.now();
        const r = instance.collect(name, op, tensor);
        t.collect += performance.now() - w0; const c = process.cpuUsage(c0); t.collectCpu += (c.user + c.system) / 1000;
        t.values += tensor.data.length;
        return r;
      },
      async postCollect(pc) {
        const c0 = process.cpuUsage(); const w0 = performance.now();
        const r = await instance.postCollect(pc);
        t.post += performance.now() - w0; const c = process.cpuUsage(c0); t.postCpu += (c.user + c.system) / 1000;
        return r;
      },
    };
  },
};
(async () => {
  const w0 = performance.now();
  const r = await core.calibrate({ model, data, collectors: [{ name: 'entropy', definition: wrapped, options: Object.freeze({ ...entropyCollector.defaultOptions }), source: 'bench' }] });
  const total = performance.now() - w0;
  const tensors = r.results[0].table.tensors;
  const n = Object.keys(tensors).length;
  console.log(`load ${require('node:os').loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  console.log(`total ${total.toFixed(0)} ms; core timings ${JSON.stringify(r.timings)}`);
  console.log(`collect ${t.collect.toFixed(0)} ms wall (${t.collectCpu.toFixed(0)} ms process CPU), ${t.values} values, ${(t.collect * 1e6 / t.values).toFixed(1)} ns/value wall`);
  console.log(`postCollect ${t.post.toFixed(0)} ms wall (${t.postCpu.toFixed(0)} ms process CPU), ${n} tensors, ${(t.post / n).toFixed(1)} ms/tensor wall`);
  if (snapOut) fs.writeFileSync(snapOut, JSON.stringify({ snapshot: instance.snapshot(), table: Object.fromEntries(Object.entries(tensors).map(([k, v]) => [k, v.threshold])) }));
})().catch((e) => { console.error(e); process.exit(1); });
