#!/usr/bin/env node
'use strict';
/**
 * Offline postCollect benchmark on real histograms: loads a snapshot saved by
 * bench/ppocr-profile.js, runs the KL searches (postCollect of a collector that merged it) and
 * checks every threshold against the table saved with the snapshot. Reports wall and CPU time.
 *   node packages/collector-entropy/bench/kl-snapshot.js /tmp/ppocr-snap.json [--detail]
 */
const fs = require('node:fs');
const core = require('@qcal/core');
const e = require('../dist/index.js');

const { snapshot, table } = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const detail = process.argv.includes('--detail');

(async () => {
  const c = e.entropyCollector.create({ ...e.entropyCollector.defaultOptions, ...(process.env.KL_THREADS ? { threads: +process.env.KL_THREADS } : {}) }, { tensors: [], logger: core.nullLogger ?? console });
  c.merge(snapshot);
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  const out = await c.postCollect({ tensors: [], samples: 12, batches: 12, logger: console });
  const wall = performance.now() - w0;
  const cu = process.cpuUsage(c0);
  let bad = 0;
  for (const [k, v] of Object.entries(table)) if (out[k].threshold !== v) { bad++; if (bad < 5) console.log('MISMATCH', k, out[k].threshold, v); }
  const n = Object.keys(out).length;
  console.log(`load ${require('node:os').loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  console.log(`postCollect: ${n} tensors, ${wall.toFixed(0)} ms wall, ${((cu.user + cu.system) / 1000).toFixed(0)} ms process CPU, ${(wall / n).toFixed(1)} ms/tensor wall; mismatches ${bad}`);
  if (detail) {
    // per-tensor CPU time of the main-thread kernel, largest first
    const rows = [];
    for (const [name, st] of Object.entries(snapshot.tensors)) {
      if (!st.counts) continue;
      const counts = core.decodeFloat64(st.counts);
      const edges = e.linspaceEdges32(-st.th, st.th, counts.length);
      const nq = st.min >= 0 ? 511 : 255;
      const t0 = process.cpuUsage();
      e.mxnetKlThreshold(counts, edges, nq);
      const t = process.cpuUsage(t0);
      const t1 = process.cpuUsage();
      e.mxnetKlThreshold(counts, edges, nq, 'float64');
      const t64 = process.cpuUsage(t1);
      rows.push([name, counts.length, nq, (t.user + t.system) / 1000, (t64.user + t64.system) / 1000]);
    }
    const sum = (i) => rows.reduce((a, r) => a + r[i], 0);
    console.log(`kernel CPU: float32 ${sum(3).toFixed(0)} ms, float64 only ${sum(4).toFixed(0)} ms`);
    rows.sort((a, b) => b[3] - a[3]);
    for (const r of rows.slice(0, 8)) console.log(r.map((x) => (typeof x === 'number' ? +x.toFixed(1) : x)).join('\t'));
  }
})().catch((err) => { console.error(err); process.exit(1); });
