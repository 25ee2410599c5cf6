'use strict';
/**
 * Seeded synthetic calibration inputs, made by the bench itself (no files): PP-OCR-like
 * rendered text lines (recognizer, 1×3×48×320, normalized (x/255 − 0.5)/0.5) and 640×640 scenes
 * with text blocks (detector, ImageNet mean/std). When examples/ppocr-rec/make-data.js exists
 * and exports makeTextLines/makeScenes, those generators are not used here on purpose: the bench
 * must stay self-contained and cheap (generation time is measured and subtracted anyway).
 *
 * Each sample is a fresh Float32Array (as a real data reader hands out); nothing is cached, so
 * memory does not grow with the number of samples.
 */

/** Deterministic pseudo-random numbers in [0, 1) (LCG, Numerical Recipes constants). */
function rng(seed) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}

const SHAPES = { rec: [1, 3, 48, 320], det: [1, 3, 640, 640] };

/** Draws one sample of `kind` number `i` (same i, same seed → same values). */
function makeSample(kind, i, seed = 1) {
  const [, C, H, W] = SHAPES[kind];
  const r = rng(seed * 100003 + i * 7919 + 17);
  const img = new Uint8Array(H * W * 3); // HWC RGB
  const bg = [200 + r() * 55, 200 + r() * 55, 200 + r() * 55];
  for (let p = 0; p < H * W; p++) {
    const noise = (r() - 0.5) * 12;
    img[p * 3] = bg[0] + noise; img[p * 3 + 1] = bg[1] + noise; img[p * 3 + 2] = bg[2] + noise;
  }
  const rect = (x0, y0, w, h, col) => {
    for (let y = Math.max(0, y0 | 0); y < Math.min(H, (y0 + h) | 0); y++) {
      for (let x = Math.max(0, x0 | 0); x < Math.min(W, (x0 + w) | 0); x++) {
        const p = (y * W + x) * 3;
        img[p] = col[0]; img[p + 1] = col[1]; img[p + 2] = col[2];
      }
    }
  };
  // Glyph-like strokes: a line of characters made of a few bars each.
  const line = (x0, y0, len, ch) => {
    const col = [r() * 80, r() * 80, r() * 80];
    let x = x0;
    while (x < x0 + len) {
      const cw = ch * (0.5 + r() * 0.5);
      const strokes = 2 + ((r() * 3) | 0);
      for (let s = 0; s < strokes; s++) {
        if (r() < 0.5) rect(x + r() * cw, y0, Math.max(1, ch * 0.1), ch, col);
        else rect(x, y0 + r() * ch, cw, Math.max(1, ch * 0.1), col);
      }
      x += cw + ch * 0.15;
    }
  };
  if (kind === 'rec') {
    line(4 + r() * 10, 8 + r() * 6, 180 + r() * 130, 26 + r() * 8);
  } else {
    const blocks = 6 + ((r() * 10) | 0);
    for (let b = 0; b < blocks; b++) {
      if (r() < 0.3) rect(r() * W, r() * H, 20 + r() * 200, 20 + r() * 200, [r() * 255, r() * 255, r() * 255]);
      const ch = 12 + r() * 30;
      line(r() * (W - 100), r() * (H - ch), 60 + r() * 400, ch);
    }
  }
  // HWC uint8 → CHW float32, normalized as PaddleOCR's presets do.
  const mean = kind === 'rec' ? [0.5, 0.5, 0.5] : [0.485, 0.456, 0.406];
  const std = kind === 'rec' ? [0.5, 0.5, 0.5] : [0.229, 0.224, 0.225];
  const out = new Float32Array(C * H * W);
  for (let c = 0; c < C; c++) {
    const a = 1 / (255 * std[c]);
    const b = -mean[c] / std[c];
    const o = c * H * W;
    for (let p = 0; p < H * W; p++) out[o + p] = img[p * 3 + c] * a + b;
  }
  return out;
}

/**
 * A re-iterable programmatic DataSource (qcal's `DataSource`) of `n` samples of `kind`, input
 * name `input`. `stats.genMs` accumulates the time spent generating, so that the bench can
 * subtract it from wall times (baseline and calibration alike).
 */
function syntheticSource(kind, n, input = 'x', seed = 1) {
  const stats = { genMs: 0 };
  const dims = SHAPES[kind];
  const source = {
    async *[Symbol.asyncIterator]() {
      for (let i = 0; i < n; i++) {
        const t = performance.now();
        const data = makeSample(kind, i, seed);
        stats.genMs += performance.now() - t;
        yield { [input]: { type: 'float32', data, dims } };
      }
    },
  };
  return { source, stats };
}

module.exports = { rng, makeSample, syntheticSource, SHAPES };
