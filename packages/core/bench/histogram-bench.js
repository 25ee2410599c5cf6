#!/usr/bin/env node
'use strict';
/**
 * Per-value cost of the report's activation histogram (runner/activation-histogram.ts), on
 * activation-like data: `node packages/core/bench/histogram-bench.js [millionValues] [stride]`
 * after `npx tsc -b`. Prints ns per value looked at and per value of the tensor.
 */
const { createActivationHistogram, addToHistogram } = require('../dist/runner/activation-histogram');

const millions = Number(process.argv[2] || 8);
const stride = Number(process.argv[3] || 1);
const n = Math.round(millions * 1e6);
// ReLU-like: half zeros, the rest a heavy-tailed positive distribution; plus a signed batch.
let s = 12345;
const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296);
const relu = new Float32Array(n);
const signed = new Float32Array(n);
for (let i = 0; i < n; i++) {
  const g = Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
  relu[i] = g > 0 ? g * g : 0;
  signed[i] = g * 3;
}
for (const [name, data] of [['relu-like', relu], ['signed gaussian', signed]]) {
  const batches = 6;
  // warm-up
  addToHistogram(createActivationHistogram(256), data, stride);
  const t0 = process.hrtime.bigint();
  const h = createActivationHistogram(256);
  for (let b = 0; b < batches; b++) addToHistogram(h, data, stride);
  const ns = Number(process.hrtime.bigint() - t0) / (n * batches);
  console.log(`${name}: ${(ns * stride).toFixed(2)} ns per value looked at, ${ns.toFixed(2)} ns per tensor value (stride ${stride}); width 2^${Math.log2(h.width)}, ${h.count} values`);
}
