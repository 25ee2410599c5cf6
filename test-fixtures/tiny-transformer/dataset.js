'use strict';
/**
 * The tiny transformer's task and data, deterministic from a seed (used by make.js to train and by
 * tests to calibrate and score). A sample is SEQ token ids in [0, VOCAB); the label is which of
 * the tokens 1, 2, 3 occurs most often (ties go to the smallest), so the model must count across
 * the whole sequence. Token 0 is common filler.
 */
const VOCAB = 24;
const SEQ = 16;
const CLASSES = 3;

/** mulberry32, the generator the project uses everywhere. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` samples: { ids: number[SEQ], label: 0..2 }. */
function makeSamples(seed, n) {
  const r = mulberry32(seed);
  const out = [];
  for (let i = 0; i < n; i++) {
    const ids = [];
    for (let k = 0; k < SEQ; k++) {
      const u = r();
      // 30 % filler, 36 % the three class tokens, the rest other tokens.
      ids.push(u < 0.3 ? 0 : u < 0.66 ? 1 + Math.floor(r() * 3) : 4 + Math.floor(r() * (VOCAB - 4)));
    }
    const counts = [1, 2, 3].map((t) => ids.filter((x) => x === t).length);
    const label = counts.indexOf(Math.max(...counts));
    out.push({ ids, label });
  }
  return out;
}

/** Top-1 accuracy of logits ([n, CLASSES] flattened, or an array of rows) against the samples' labels. */
function accuracy(logits, samples) {
  const rows = Array.isArray(logits[0]) ? logits : samples.map((_, i) => Array.from(logits).slice(i * CLASSES, (i + 1) * CLASSES));
  let ok = 0;
  rows.forEach((row, i) => { if (row.indexOf(Math.max(...row)) === samples[i].label) ok++; });
  return ok / samples.length;
}

module.exports = { VOCAB, SEQ, CLASSES, mulberry32, makeSamples, accuracy, TRAIN_SEED: 1, CALIB_SEED: 2, EVAL_SEED: 3 };
