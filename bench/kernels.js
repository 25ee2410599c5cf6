#!/usr/bin/env node
'use strict';
/**
 * Kernel cost per activation value: captures the activations of a few PP-OCRv4 recognizer lines
 * (every calibratable tensor exposed), then feeds them to each collector's `collect` in this
 * thread and reports ns per value (median of reps), next to a plain sum loop (the JS floor), and
 * the steady state: lines 2.. after the first line created the collectors' grids.
 *
 * Each collector runs twice: with its JavaScript kernels (`name js`, the reference) and with the
 * WebAssembly ones of @qcal/kernels (`name`, when built: `npm run build`); `absmax` is autotune's
 * per-value scan (its base collector's work is the base's row); any collector name works, e.g. `mse`,
 * and `entropy@tpumlir` / `entropy@tensorrt` / `percentile@…` set the collector's `mode`.
 * `--no-js` leaves out the JS rows.
 *
 * The machine's limit, measured on the same tensors: `wasm read` sums them with a float32x4
 * WebAssembly loop from a copy already in WebAssembly memory (the read bandwidth of a wasm loop:
 * the tensors come from DRAM, 400 MB for two lines), `wasm copy+read` copies each into
 * WebAssembly memory 16384 values at a time first, as the kernels must (the floor of any kernel
 * that reads a tensor handed over from JavaScript), `sum loop` is the same sum in plain JavaScript.
 *
 *   node bench/kernels.js [--lines 2] [--reps 3] [--collectors minmax,absmax,entropy,ifmr,hfmg] [--kind rec|det] [--no-js]
 */
const { parseArgs } = require('node:util');
const core = require('@qcal/core');
const { finiteAbsMax } = require('@qcal/collector-autotune');
const kernels = require('@qcal/kernels');
const ort = require('onnxruntime-node');
const { makeSample, SHAPES } = require('./lib/data');
const { modelPath } = require('./lib/models');

async function capture(kind, lines) {
  const path = modelPath(kind);
  const { model } = core.loadModel(path);
  const index = core.indexGraph(model);
  const names = index.calibratable.map((t) => t.name);
  const inst = core.instrumentModel(model, { full: names, range: [] });
  const session = await core.createSession(core.encodeModel(inst.model), path, {});
  const batches = [];
  for (let i = 0; i < lines; i++) {
    const x = makeSample(kind, i, 1);
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, SHAPES[kind]) }, inst.fetches);
    batches.push(names.map((n) => [n, index.tensors.get(n)?.producer ?? '', out[n].data]));
  }
  await session.release();
  return { index, names, batches };
}

function sumLoop(batches) {
  let s = 0;
  for (const b of batches) for (const [, , d] of b) { let t = 0; for (let i = 0; i < d.length; i++) t += d[i]; s += t; }
  return s;
}

async function main() {
  const { values: v } = parseArgs({ options: { lines: { type: 'string' }, reps: { type: 'string' }, collectors: { type: 'string' }, kind: { type: 'string' }, 'no-js': { type: 'boolean' } } });
  const kind = v.kind ?? 'rec';
  const lines = Number(v.lines ?? 2);
  const reps = Number(v.reps ?? 3);
  const list = (v.collectors ?? 'minmax,absmax,entropy,ifmr,hfmg').split(',');
  const { index, batches } = await capture(kind, lines);
  const values = batches.reduce((s, b) => s + b.reduce((t, [, , d]) => t + d.length, 0), 0);
  const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  // Steady state: the first line creates the collectors' grids (not timed), the others are timed;
  // that is what every line after the first costs in a long run.
  const later = batches.slice(1).reduce((s, b) => s + b.reduce((t, [, , d]) => t + d.length, 0), 0);
  const row = (label, f) => {
    const ts = [];
    const ss = [];
    for (let r = 0; r < reps; r++) {
      const t = performance.now();
      const split = f();
      ts.push(performance.now() - t);
      if (split !== undefined) ss.push(split);
    }
    const ns = (med(ts) * 1e6) / values;
    const st = ss.length && later ? `; steady state ${((med(ss) * 1e6) / later).toFixed(2)} ns/value (lines 2..${lines})` : '';
    process.stdout.write(`${label.padEnd(15)} ${ns.toFixed(2)} ns/value  (${med(ts).toFixed(0)} ms for ${(values / 1e6).toFixed(1)} M values${st})\n`);
  };
  process.stdout.write(`${kind}: ${lines} line(s), ${batches[0].length} tensors, ${(values / 1e6).toFixed(1)} M values; load ${require('node:os').loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
  row('sum loop', () => { sumLoop(batches); });
  const probe = kernels.readProbe(batches.flat().map(([, , d]) => d));
  if (probe) {
    row('wasm read', () => { probe.resident(); });
    row('wasm copy+read', () => { probe.copied(); });
  } else process.stdout.write('(wasm read: WebAssembly kernels not built)\n');
  const variants = [];
  for (const name of list) {
    if (!v['no-js']) variants.push([`${name} js`, name, false]);
    variants.push([name, name, true]);
  }
  for (const [label, name, wasm] of variants) {
    if (name === 'absmax') {
      kernels.setWasmKernels(wasm);
      row(label, () => {
        const m = new Map();
        for (const [n, , d] of batches[0]) m.set(n, finiteAbsMax(d, m.get(n) ?? 0));
        const t = performance.now();
        for (const b of batches.slice(1)) for (const [n, , d] of b) m.set(n, finiteAbsMax(d, m.get(n) ?? 0));
        return performance.now() - t;
      });
      continue;
    }
    // `entropy@tpumlir`: a collector with one option set, `mode` (entropy's modes)
    const [cname, mode] = name.split('@');
    const loaded = core.loadCollectors([mode ? [cname, { mode }] : cname], { configDir: process.cwd(), cwd: process.cwd() });
    const r = loaded.collectors[0];
    kernels.setWasmKernels(wasm);
    if (wasm && !kernels.histogramKernels()) process.stdout.write(`(${name}: WebAssembly kernels not built, JavaScript)\n`);
    row(label, () => {
      const c = r.definition.create(r.options, { tensors: index.calibratable, logger: core.silentLogger });
      for (const [n, op, d] of batches[0]) c.collect(n, op, { data: d, dims: [d.length] });
      const t = performance.now();
      for (const b of batches.slice(1)) for (const [n, op, d] of b) c.collect(n, op, { data: d, dims: [d.length] });
      return performance.now() - t;
    });
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
