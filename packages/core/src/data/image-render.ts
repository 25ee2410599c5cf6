import type { Geometry } from './image-geometry';
import type { PreprocessOptions } from './preprocess-options';
import { resizePixels, rgbToGray } from './resize';

/**
 * Decoded pixels (srcH×srcW×ch interleaved, RGB order as sharp gives them) → the tensor of one
 * sample without batch dim: gray conversion (before resizing, as tpu-mlir and OpenCV pipelines
 * do), resize to rh×rw, placement on the outH×outW canvas, channel order, y = (x − mean)·scale,
 * padding with padValue (a value of the normalised tensor), layout CHW or HWC. Pure.
 */
export function renderImage(
  raw: Uint8Array, srcH: number, srcW: number, ch: number, g: Geometry,
  lay: { layout: 'nchw' | 'nhwc'; channels: number }, pre: PreprocessOptions, type: 'float32' | 'uint8',
): Float32Array | Uint8Array {
  const n = srcH * srcW;
  // Normalise the decoded band count to 3 (RGB) or 1 (gray).
  let rgb: Uint8Array = raw;
  if (ch === 1 || ch === 2) {
    rgb = new Uint8Array(n * 3);
    for (let i = 0; i < n; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = raw[i * ch]!;
  } else if (ch === 4) {
    rgb = new Uint8Array(n * 3);
    for (let i = 0; i < n; i++) { rgb[3 * i] = raw[4 * i]!; rgb[3 * i + 1] = raw[4 * i + 1]!; rgb[3 * i + 2] = raw[4 * i + 2]!; }
  }
  const C = lay.channels;
  const src = C === 1 ? rgbToGray(rgb, n) : rgb;
  const pix = resizePixels(src, srcH, srcW, C, g.rh, g.rw, pre.interpolation ?? 'bilinear');
  // Tensor channel t takes picture channel order[t] (picture is RGB).
  const order = C === 1 ? [0] : pre.pixelFormat === 'bgr' ? [2, 1, 0] : [0, 1, 2];
  const mean = pre.mean ?? [0];
  const scale = pre.scale ?? [1];
  const pad = pre.padValue ?? 0;
  const { outH, outW, rh, rw, top, left } = g;
  const out = type === 'uint8' ? new Uint8Array(outH * outW * C) : new Float32Array(outH * outW * C);
  const chw = lay.layout === 'nchw';
  for (let t = 0; t < C; t++) {
    const m = mean[mean.length === 1 ? 0 : t]!;
    const s = scale[scale.length === 1 ? 0 : t]!;
    const pc = order[t]!;
    for (let y = 0; y < outH; y++) {
      const py = y - top;
      const rowIn = py >= 0 && py < rh;
      for (let x = 0; x < outW; x++) {
        const px = x - left;
        const v = rowIn && px >= 0 && px < rw ? (pix[(py * rw + px) * C + pc]! - m) * s : pad;
        out[chw ? (t * outH + y) * outW + x : (y * outW + x) * C + t] = v;
      }
    }
  }
  return out;
}
