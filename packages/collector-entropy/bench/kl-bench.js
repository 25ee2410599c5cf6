#!/usr/bin/env node
'use strict';
/**
 * KL search and histogram speed. Build first (`npx tsc -b`), then from the repository root:
 *   node packages/collector-entropy/bench/kl-bench.js
 * Compiles bench/minimize-kl-ref.cpp (g++ -O2; the reference O(bins²) loop in float32) into the
 * temp directory, runs it and the TypeScript kernels on the 8001-bin golden histograms, and
 * reports CPU time per search (process CPU time, so that other load on the machine inflates
 * neither side much; wall time is printed too). Then times the histogram fill per value.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const e = require('../dist/index.js');

const golden = path.resolve(__dirname, '..', '..', '..', 'test-fixtures', 'golden', 'entropy');
const exe = path.join(os.tmpdir(), `qcal-minimize-kl-ref-${process.pid}`);
execFileSync('g++', ['-O2', '-o', exe, path.join(__dirname, 'minimize-kl-ref.cpp')]);

function cpuMs(fn, reps) {
  let bestCpu = Infinity;
  let bestWall = Infinity;
  let out;
  for (let r = 0; r < reps; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    out = fn();
    const wall = performance.now() - t0;
    const c = process.cpuUsage(c0);
    bestCpu = Math.min(bestCpu, (c.user + c.system) / 1000);
    bestWall = Math.min(bestWall, wall);
  }
  return { out, cpu: bestCpu, wall: bestWall };
}

console.log('KL search, one 8001-bin histogram (best of several runs; ms)');
console.log('case                      nq   C++ ref cpu (wall)   TS float32 cpu (wall)   TS float64 cpu (wall)   same threshold');
for (const name of ['gaussian', 'laplace_outliers', 'relu_like', 'sparse_with_zero_bins', 'spiky_constant_background']) {
  const g = JSON.parse(fs.readFileSync(path.join(golden, `${name}.json`), 'utf8'));
  if (name === 'growing_range') continue; // 53711 bins: the O(n²) reference takes ~30 s
  for (const nq of [255, 511]) {
    if (nq === 511 && g.threshold_uint8_511 === undefined) continue;
    const input = `${g.num_bins} ${nq}\n${g.hist.join(' ')}\n${g.hist_edges.map((x) => x.toPrecision(17)).join(' ')}\n`;
    const ref = execFileSync(exe, ['3'], { input }).toString().trim().split(/\s+/).map(Number);
    const hist = Float64Array.from(g.hist);
    const edges = Float32Array.from(g.hist_edges);
    e.mxnetKlThreshold(hist, edges, nq); // warm-up
    const t32 = cpuMs(() => e.mxnetKlThreshold(hist, edges, nq, 'float32'), 5);
    const t64 = cpuMs(() => e.mxnetKlThreshold(hist, edges, nq, 'float64'), 5);
    const same = Math.abs(t32.out.threshold / ref[1] - 1) < 1e-6;
    const f = (c, w) => `${c.toFixed(1).padStart(7)} (${w.toFixed(1)})`.padEnd(22);
    console.log(`${name.padEnd(26)}${String(nq).padEnd(5)}${f(ref[4], ref[3])}${f(t32.cpu, t32.wall)}  ${f(t64.cpu, t64.wall)}  ${same}`);
  }
}
fs.rmSync(exe, { force: true });

// Histogram fill: scan (min/max/NaN) + NumPy-exact binning, per value.
const n = 1 << 22;
const data = new Float32Array(n);
let s = 12345;
for (let i = 0; i < n; i++) { s = (s * 1103515245 + 12345) >>> 0; data[i] = ((s / 4294967296) - 0.5) * 6 * ((s & 7) === 0 ? 3 : 1); }
const scan = cpuMs(() => e.scanFinite(data), 7);
const hist = cpuMs(() => e.signedHistogram(data, scan.out.absMax, 8001), 7);
const abs = cpuMs(() => e.absHistogram(data, scan.out.absMax, 2048), 7);
const ns = (ms) => ((ms * 1e6) / n).toFixed(2);
console.log(`\nper value (${n} float32 values): scanFinite ${ns(scan.cpu)} ns, signed 8001-bin fill ${ns(hist.cpu)} ns, |x| 2048-bin fill ${ns(abs.cpu)} ns (CPU time)`);
