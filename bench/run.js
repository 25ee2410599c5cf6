#!/usr/bin/env node
'use strict';
/**
 * `npm run bench` (after `tsc -b`): the qcal benchmark. See bench/README.md.
 *
 *   node bench/run.js [--quick] [--rec N] [--det M] [--reps R] [--collectors a,b] [--growth all,minmax] [--growth-n n]
 *                     [--threads T] [--opt all|extended|basic|disabled] [--workers W] [--inference-workers W] [--all-tensors] [--fast-sample N]
 *                     [--extras sensitivity,target-cos|none] [--eval-samples n] [--autotune-scenes K] [--out FILE]
 *
 * --quick: CI size (a few recognizer samples, all collectors in one pass, < 60 s).
 */
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { runBench, formatTable } = require('./lib/bench');
const { COLLECTORS } = require('./lib/models');

/** The options of a run from argv (exported for tests). */
function benchOptions(argv) {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean' },
      rec: { type: 'string' },
      det: { type: 'string' },
      reps: { type: 'string' },
      collectors: { type: 'string' },
      growth: { type: 'string' },
      'growth-n': { type: 'string' },
      threads: { type: 'string' },
      opt: { type: 'string' },
      workers: { type: 'string' },
      'inference-workers': { type: 'string' },
      extras: { type: 'string' },
      'eval-samples': { type: 'string' },
      'autotune-scenes': { type: 'string' },
      'all-tensors': { type: 'boolean' },
      'fast-sample': { type: 'string' },
      out: { type: 'string' },
    },
  });
  const list = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);
  const session = {
    ...(v.threads ? { intraOpNumThreads: Number(v.threads) } : {}),
    ...(v.opt ? { graphOptimizationLevel: v.opt } : {}),
    ...(v.workers !== undefined ? { collectWorkers: Number(v.workers) } : {}),
    ...(v['inference-workers'] !== undefined ? { inferenceWorkers: Number(v['inference-workers']) } : {}),
  };
  const tensors = { ...(v['all-tensors'] ? { tensors: 'all' } : {}), ...(v['fast-sample'] ? { sampleValues: Number(v['fast-sample']) } : {}) };
  if (v.quick) {
    // CI: the whole pipeline in one pass with every collector, on a handful of lines.
    return {
      models: [{ kind: 'rec', samples: Number(v.rec ?? 3) }],
      // Auto-tune's own tuning pass (minutes on the recognizer) does not fit a CI minute: add it with --collectors.
      collectors: v.collectors ? list(v.collectors) : COLLECTORS.filter((c) => c !== 'autotune'),
      onlyAll: true,
      ...tensors,
      growth: [],
      reps: 1,
      ...(Object.keys(session).length ? { session } : {}),
      out: v.out ?? path.join(__dirname, 'results.quick.json'),
    };
  }
  const rec = Number(v.rec ?? 50);
  const det = Number(v.det ?? 10);
  // Auto-tune (tuneNum 5) on its own detector scenes, with its own baseline: a few by default, 16 for the issue's target.
  const autotune = Number(v['autotune-scenes'] ?? 4);
  // Sensitivity and the --target-cos search on the first model (default: both; --extras none: neither).
  const extras = v.extras === 'none' ? [] : v.extras ? list(v.extras) : ['sensitivity', 'target-cos'];
  const models = [...(rec > 0 ? [{ kind: 'rec', samples: rec }] : []), ...(det > 0 ? [{ kind: 'det', samples: det }] : [])];
  if (models.length && extras.length) models[0] = { ...models[0], extras };
  if (autotune > 0) models.push({ kind: 'det', samples: autotune, collectors: ['autotune'] });
  return {
    models,
    // Each collector alone and all in one pass; auto-tune has its own rows (above) unless listed here.
    collectors: v.collectors ? list(v.collectors) : COLLECTORS.filter((c) => c !== 'autotune'),
    growth: v.growth ? list(v.growth) : ['minmax', 'all'],
    ...(v['growth-n'] ? { growthSamples: Number(v['growth-n']) } : {}),
    reps: Number(v.reps ?? 1),
    ...tensors,
    ...(v['eval-samples'] ? { evalSamples: Number(v['eval-samples']) } : {}),
    ...(Object.keys(session).length ? { session } : {}),
    out: v.out ?? path.join(__dirname, 'results.json'),
  };
}

/** The quick (CI) bench: baseline and all collectors in one pass. */
function quickBench(o) {
  return runBench({ ...o, collectors: o.collectors, all: true, onlyAll: true });
}

async function main() {
  const o = benchOptions(process.argv.slice(2));
  const t = performance.now();
  const log = (s) => process.stderr.write(`${s}\n`);
  log(`qcal bench: ${o.models.map((m) => `${m.kind} N=${m.samples}${m.collectors ? ` (${m.collectors.join(', ')})` : ''}${m.extras ? ` + ${m.extras.join(', ')}` : ''}`).join(', ')}; collectors ${o.collectors.join(', ')}${o.onlyAll ? ' (all in one pass only)' : ''}`);
  const res = await runBench({ ...o, log });
  res.totalSeconds = (performance.now() - t) / 1000;
  fs.writeFileSync(o.out, `${JSON.stringify(res, null, 2)}\n`);
  process.stdout.write(`${formatTable(res)}\n\n(${res.totalSeconds.toFixed(0)} s; JSON: ${path.relative(process.cwd(), o.out)})\n`);
  for (const [name, why] of Object.entries(res.options.unavailable)) process.stdout.write(`not benched: ${name}: ${why}\n`);
  const failed = res.models.flatMap((m) => m.results.filter((r) => r.error));
  if (o.onlyAll && failed.length) process.exitCode = 1;
}

if (require.main === module) main().catch((e) => { console.error(e); process.exit(1); });

module.exports = { benchOptions, quickBench };
