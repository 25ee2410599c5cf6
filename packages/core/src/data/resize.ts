/**
 * Resampling kernels on interleaved 8-bit pixels. Pure functions.
 *
 * 'bilinear' follows OpenCV's cv2.resize INTER_LINEAR, which PaddleOCR and most Python
 * pipelines use: source coordinate (d + 0.5)·(src/dst) − 0.5, clamped to the image, no
 * antialiasing when shrinking, result rounded to uint8 (OpenCV keeps the input's depth). OpenCV
 * uses 11-bit fixed-point weights, so a value can differ from this float computation by 1.
 * libvips (sharp's resize) antialiases when shrinking and would not match the training pipelines.
 * 'nearest' follows INTER_NEAREST: floor(d · src/dst).
 */
export type Interpolation = 'bilinear' | 'nearest';

interface Taps { i0: Int32Array; i1: Int32Array; w1: Float64Array }

function taps(dst: number, src: number, interp: Interpolation): Taps {
  const i0 = new Int32Array(dst);
  const i1 = new Int32Array(dst);
  const w1 = new Float64Array(dst);
  const scale = src / dst;
  for (let d = 0; d < dst; d++) {
    if (interp === 'nearest') {
      i0[d] = i1[d] = Math.min(Math.floor(d * scale), src - 1);
      continue;
    }
    const f = (d + 0.5) * scale - 0.5;
    let s = Math.floor(f);
    let a = f - s;
    if (s < 0) { s = 0; a = 0; }
    if (s >= src - 1) { s = src - 1; a = 0; }
    i0[d] = s;
    i1[d] = Math.min(s + 1, src - 1);
    w1[d] = a;
  }
  return { i0, i1, w1 };
}

/** Resize an h×w×c uint8 image to rh×rw×c (c interleaved). */
export function resizePixels(src: Uint8Array, h: number, w: number, c: number, rh: number, rw: number, interp: Interpolation): Uint8Array {
  if (rh === h && rw === w) return src;
  const out = new Uint8Array(rh * rw * c);
  const ty = taps(rh, h, interp);
  const tx = taps(rw, w, interp);
  for (let y = 0; y < rh; y++) {
    const r0 = ty.i0[y]! * w * c;
    const r1 = ty.i1[y]! * w * c;
    const b = ty.w1[y]!;
    const a = 1 - b;
    const o = y * rw * c;
    for (let x = 0; x < rw; x++) {
      const c0 = tx.i0[x]! * c;
      const c1 = tx.i1[x]! * c;
      const q = tx.w1[x]!;
      const p = 1 - q;
      for (let k = 0; k < c; k++) {
        const top = src[r0 + c0 + k]! * p + src[r0 + c1 + k]! * q;
        const bot = src[r1 + c0 + k]! * p + src[r1 + c1 + k]! * q;
        out[o + x * c + k] = Math.round(top * a + bot * b);
      }
    }
  }
  return out;
}

/** RGB → gray as OpenCV's COLOR_RGB2GRAY: 0.299 R + 0.587 G + 0.114 B, rounded. */
export function rgbToGray(src: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(0.299 * src[3 * i]! + 0.587 * src[3 * i + 1]! + 0.114 * src[3 * i + 2]!);
  return out;
}
