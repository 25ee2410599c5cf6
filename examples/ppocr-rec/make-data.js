#!/usr/bin/env node
'use strict';
/**
 * Calibration data for the PP-OCRv4 recognizer example (and scenes for the detector).
 *
 *   node examples/ppocr-rec/make-data.js [--count N] [--out DIR] [--seed S] [--scenes N] [--force]
 *
 * Writes, under DIR (default examples/ppocr-rec/data):
 *   images/line_0000.png …   N rendered English/digit text lines (varied text, fonts, sizes, noise)
 *   npy/line_0000.npy …      the same lines preprocessed as PaddleOCR's recognizer does
 *                            (qcal preset 'paddleocr-rec': BGR, height 48, width ceil(48·w/h) ≤ 320,
 *                            (x/255 − 0.5)/0.5), float32 1×3×48×W
 *   list.txt                 one npy path per line (relative to list.txt)
 *   labels.txt               path<TAB>text, for evaluation
 *   scenes/scene_0000.png …  with --scenes N: 640×640 pages with several lines at random places
 *   manifest.json            what was made; a rerun with the same settings does nothing
 * Deterministic: the same seed gives the same pixels. Needs `npm install && npx tsc -b` first
 * (it uses the built @qcal/core so the .npy files match what qcal itself feeds from the PNGs).
 */
const fs = require('node:fs');
const path = require('node:path');
const { rng, renderLine, renderScene } = require('./text-render');

const DEFAULT_OUT = path.join(__dirname, 'data');
const VERSION = 2; // bump when the rendering changes: older data is remade
const REC_INPUT = { name: 'x', type: 'float32', dims: ['N', 3, 48, 'W'] };

function readManifest(out) {
  try { return JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')); } catch { return undefined; }
}
function writeManifest(out, patch) {
  const m = { ...(readManifest(out) || {}), version: VERSION, ...patch };
  fs.writeFileSync(path.join(out, 'manifest.json'), JSON.stringify(m, null, 2) + '\n');
}
const name = (prefix, i) => `${prefix}_${String(i).padStart(4, '0')}`;

/**
 * Render `count` text lines to DIR/images, their paddleocr-rec tensors to DIR/npy and DIR/list.txt.
 * Skips the work when DIR already holds the same count and seed (unless `force`).
 * @returns {Promise<{ out: string, list: string, images: string[], npys: string[], skipped: boolean }>}
 */
async function makeTextLines({ count = 100, out = DEFAULT_OUT, seed = 1, force = false, log = () => {} } = {}) {
  out = path.resolve(out);
  const images = Array.from({ length: count }, (_, i) => path.join(out, 'images', name('line', i) + '.png'));
  const npys = Array.from({ length: count }, (_, i) => path.join(out, 'npy', name('line', i) + '.npy'));
  const list = path.join(out, 'list.txt');
  const m = readManifest(out);
  if (!force && m && m.version === VERSION && m.lines && m.lines.count === count && m.lines.seed === seed &&
      [list, ...images, ...npys].every((f) => fs.existsSync(f))) {
    log(`${out}: ${count} text lines already there (seed ${seed})`);
    return { out, list, images, npys, skipped: true };
  }
  const { openData, writeNpy } = require('@qcal/core');
  for (const d of ['images', 'npy']) {
    fs.rmSync(path.join(out, d), { recursive: true, force: true });
    fs.mkdirSync(path.join(out, d), { recursive: true });
  }
  const r = rng(seed);
  const labels = [];
  for (let i = 0; i < count; i++) {
    const line = await renderLine(r);
    fs.writeFileSync(images[i], line.png);
    labels.push(`images/${path.basename(images[i])}\t${line.text}`);
  }
  // Preprocess through qcal itself, so the tensors are exactly what `--preprocess paddleocr-rec` feeds.
  const data = await openData({ data: path.join(out, 'images'), preprocess: 'paddleocr-rec' }, [REC_INPUT]);
  let i = 0;
  for await (const batch of data.batches()) { // batchSize 1: one line per batch
    const k = images.indexOf(batch.ids[0]);
    if (k < 0) throw new Error(`unexpected sample ${batch.ids[0]}`);
    const t = batch.feeds.x;
    fs.writeFileSync(npys[k], writeNpy(t.data, t.dims, 'float32'));
    i += batch.size;
  }
  if (i !== count) throw new Error(`preprocessed ${i} of ${count} lines`);
  fs.writeFileSync(list, npys.map((f) => path.relative(out, f).split(path.sep).join('/')).join('\n') + '\n');
  fs.writeFileSync(path.join(out, 'labels.txt'), labels.join('\n') + '\n');
  writeManifest(out, { lines: { count, seed, maxWidth: 320, height: 48 } });
  log(`${out}: wrote ${count} text lines (images/, npy/, list.txt)`);
  return { out, list, images, npys, skipped: false };
}

/**
 * Render `count` size×size scenes (several text lines at random, non-overlapping places) to
 * DIR/scenes, with their boxes in DIR/scenes/boxes.json. Idempotent like makeTextLines.
 * @returns {Promise<{ out: string, dir: string, images: string[], skipped: boolean }>}
 */
async function makeScenes({ count = 8, out = DEFAULT_OUT, seed = 1, size = 640, force = false, log = () => {} } = {}) {
  out = path.resolve(out);
  const dir = path.join(out, 'scenes');
  const images = Array.from({ length: count }, (_, i) => path.join(dir, name('scene', i) + '.png'));
  const m = readManifest(out);
  if (!force && m && m.version === VERSION && m.scenes && m.scenes.count === count && m.scenes.seed === seed && m.scenes.size === size &&
      images.every((f) => fs.existsSync(f))) {
    log(`${dir}: ${count} scenes already there`);
    return { out, dir, images, skipped: true };
  }
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const r = rng(seed ^ 0x5ce7e);
  const boxes = {};
  for (let i = 0; i < count; i++) {
    const s = await renderScene(r, size);
    fs.writeFileSync(images[i], s.png);
    boxes[path.basename(images[i])] = s.boxes;
  }
  fs.writeFileSync(path.join(dir, 'boxes.json'), JSON.stringify(boxes, null, 1) + '\n');
  writeManifest(out, { scenes: { count, seed, size } });
  log(`${dir}: wrote ${count} scenes of ${size}×${size}`);
  return { out, dir, images, skipped: false };
}

function parseArgs(argv) {
  const o = { count: 100, out: DEFAULT_OUT, seed: 1, scenes: 0, force: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const int = () => {
      const v = Number(val());
      if (!Number.isInteger(v) || v < 0) throw new Error(`${a} needs a non-negative integer`);
      return v;
    };
    if (a === '--count') o.count = int();
    else if (a === '--out') o.out = path.resolve(val());
    else if (a === '--seed') o.seed = int();
    else if (a === '--scenes') o.scenes = int();
    else if (a === '--force') o.force = true;
    else if (a === '--help' || a === '-h') o.help = true;
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

if (require.main === module) {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`make-data: ${err.message}\nusage: node examples/ppocr-rec/make-data.js [--count N] [--out DIR] [--seed S] [--scenes N] [--force]`);
    process.exit(2);
  }
  if (o.help) {
    console.log('usage: node examples/ppocr-rec/make-data.js [--count N] [--out DIR] [--seed S] [--scenes N] [--force]');
    process.exit(0);
  }
  const log = (s) => console.log(s);
  (async () => {
    await makeTextLines({ ...o, log });
    if (o.scenes) await makeScenes({ count: o.scenes, out: o.out, seed: o.seed, force: o.force, log });
  })().catch((err) => {
    console.error(`make-data: ${err && err.message ? err.message : err}`);
    process.exit(1);
  });
}

module.exports = { makeTextLines, makeScenes, DEFAULT_OUT };
