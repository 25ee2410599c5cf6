#!/usr/bin/env node
'use strict';
/**
 * Summarizes an autotune table: how many thresholds moved, how far, and the distance gains.
 *   node packages/collector-autotune/bench/summarize-table.js <out>/autotune.table.json [top]
 */
const fs = require('node:fs');
const table = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const top = Number(process.argv[3] ?? 10);
const rows = Object.entries(table.tensors).map(([name, e]) => ({ name, op: e.opType, ...e }));
const tunable = rows.filter((r) => r.consumers);
const moved = tunable.filter((r) => r.tunedThreshold > r.baseThreshold);
const ratio = moved.map((r) => r.tunedThreshold / r.baseThreshold).sort((a, b) => a - b);
const sum = (xs) => xs.reduce((a, b) => a + b, 0);
console.log(`${rows.length} tensors, ${tunable.length} tuned against consumers, ${moved.length} thresholds raised`);
if (moved.length) console.log(`raise factor T/T_base: median ${ratio[Math.floor(ratio.length / 2)].toFixed(3)}, max ${ratio[ratio.length - 1].toFixed(3)}`);
console.log(`mean distance over tuned tensors: base ${(sum(tunable.map((r) => r.baseDistance)) / tunable.length).toExponential(3)} → tuned ${(sum(tunable.map((r) => r.distance)) / tunable.length).toExponential(3)}`);
console.log(`largest relative gains:`);
for (const r of [...moved].sort((a, b) => b.distanceGain / b.baseDistance - a.distanceGain / a.baseDistance).slice(0, top)) {
  console.log(`  ${r.name.padEnd(40)} ${String(r.op).padEnd(14)} T ${r.baseThreshold.toFixed(4)} → ${r.tunedThreshold.toFixed(4)} (absmax ${r.absMax.toFixed(3)})  d ${r.baseDistance.toExponential(3)} → ${r.distance.toExponential(3)} (−${(100 * r.distanceGain / r.baseDistance).toFixed(1)}%)  [${r.consumers.map((c) => c.opType).join(',')}]`);
}
