import * as ort from 'onnxruntime-node';
import { decodeModel, encodeModel, loadModel } from '../../src/onnx/model';
import { indexGraph } from '../../src/onnx/graph-index';
import type { CalibrationTable } from '../../src/table';
import type { FeedTensor } from '../../src/tensor';
import { CLS_MODEL, DET_MODEL, REC_MODEL } from '../../../../test-support/paths';

export const MODELS = {
  cls: { path: CLS_MODEL, h: 48, w: 192 },
  rec: { path: REC_MODEL, h: 48, w: 320 },
  det: { path: DET_MODEL, h: 320, w: 320 },
} as const;

/** Seeded LCG in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 4294967296; };
}

/** A seeded synthetic 1×3×h×w input in [-1, 1] (PP-OCR's normalisation): stripes plus noise. */
export function syntheticFeed(seed: number, h: number, w: number): Record<string, FeedTensor> {
  const r = rng(seed);
  const a = 0.05 + r() * 0.2, b = 0.05 + r() * 0.3;
  const x = new Float32Array(3 * h * w);
  for (let c = 0; c < 3; c++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
    x[(c * h + i) * w + j] = Math.max(-1, Math.min(1, Math.sin(i * a + j * b + c) * 0.7 + (r() - 0.5) * 0.6));
  }
  return { x: { type: 'float32', data: x, dims: [1, 3, h, w] } };
}

/**
 * An independent min/max table: every calibratable tensor exposed as an output of the FP32 model,
 * run with onnxruntime over the feeds. `symmetric` widens each range to [-t, t].
 */
export async function minMaxTable(modelPath: string, feeds: Record<string, FeedTensor>[], symmetric = false): Promise<CalibrationTable> {
  const { model, bytes } = loadModel(modelPath);
  const names = indexGraph(model).calibratable.map((t) => t.name);
  const m = decodeModel(bytes);
  const have = new Set(m.graph!.output.map((o) => o.name));
  for (const n of names) if (!have.has(n)) m.graph!.output.push({ name: n, type: { tensorType: { elemType: 1 } } });
  const s = await ort.InferenceSession.create(encodeModel(m));
  const tensors: CalibrationTable['tensors'] = {};
  for (const f of feeds) {
    const out = await s.run({ x: new ort.Tensor('float32', f.x!.data as Float32Array, [...f.x!.dims]) });
    for (const n of names) {
      const d = out[n]!.data as Float32Array;
      let lo = Infinity, hi = -Infinity;
      for (let i = 0; i < d.length; i++) { const v = d[i]!; if (v < lo) lo = v; if (v > hi) hi = v; }
      const e = (tensors[n] ??= { op: '', min: lo, max: hi });
      e.min = Math.min(e.min, lo); e.max = Math.max(e.max, hi);
    }
  }
  await s.release();
  if (symmetric) for (const e of Object.values(tensors)) { const t = Math.max(-e.min, e.max); e.min = -t; e.max = t; }
  return { collector: 'test-minmax', options: {}, model: modelPath, samples: feeds.length, tensors };
}

/**
 * A seeded synthetic "text" image, 1×3×h×w: dark glyph-like strokes in a few lines on a light
 * background, normalised as PaddleOCR does (`imagenet` mean/std for the detector, (x−0.5)/0.5 for
 * the recognizer and classifier). The detector gives a real response on it (random noise gives ~0).
 */
export function textFeed(seed: number, h: number, w: number, norm: 'imagenet' | 'half' = 'half'): Record<string, FeedTensor> {
  const r = rng(seed);
  const img = new Float32Array(h * w).fill(0.95);
  const lines = h < 64 ? 1 : 2 + Math.floor(r() * 4);
  for (let l = 0; l < lines; l++) {
    const hh = h < 64 ? Math.floor(h * 0.6) : 10 + Math.floor(r() * 12);
    const y0 = h < 64 ? Math.floor(h * 0.2) : Math.floor(r() * (h - 24));
    let x = Math.floor(r() * 20);
    const xend = Math.min(w - 4, x + Math.floor(w * (0.5 + r() * 0.45)));
    while (x < xend) {
      const cw = 3 + Math.floor(r() * 8);
      for (let y = y0; y < y0 + hh; y++) for (let xx = x; xx < Math.min(x + cw, xend); xx++) if (r() < 0.75) img[y * w + xx] = 0.1 + r() * 0.1;
      x += cw + 2 + Math.floor(r() * 4);
    }
  }
  const mean = norm === 'imagenet' ? [0.485, 0.456, 0.406] : [0.5, 0.5, 0.5];
  const std = norm === 'imagenet' ? [0.229, 0.224, 0.225] : [0.5, 0.5, 0.5];
  const x = new Float32Array(3 * h * w);
  for (let c = 0; c < 3; c++) for (let i = 0; i < h * w; i++) x[c * h * w + i] = (img[i]! + (r() - 0.5) * 0.05 - mean[c]!) / std[c]!;
  return { x: { type: 'float32', data: x, dims: [1, 3, h, w] } };
}

/** textFeed with each model's normalisation. */
export function modelFeeds(key: keyof typeof MODELS, seeds: readonly number[]): Record<string, FeedTensor>[] {
  const { h, w } = MODELS[key];
  return seeds.map((s) => textFeed(s, h, w, key === 'det' ? 'imagenet' : 'half'));
}
