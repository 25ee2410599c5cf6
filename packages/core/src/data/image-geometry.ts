/**
 * Where the resized picture goes in the output tensor. Pure arithmetic, no pixels.
 * The picture is resized to rh×rw and placed with its top-left corner at (top, left) of the
 * outH×outW canvas; negative offsets crop, uncovered canvas is padding.
 */
import type { PreprocessOptions } from './preprocess-options';

export interface Geometry { outH: number; outW: number; rh: number; rw: number; top: number; left: number }

/** Python 3's round(): half to even (PaddleOCR rounds sizes with it). */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Output geometry for an h×w image. `H`/`W` are the model's fixed dims, or undefined when
 * dynamic. Throws a plain Error (the caller adds the file and the input) when the options
 * cannot decide a size.
 */
export function planGeometry(h: number, w: number, H: number | undefined, W: number | undefined, o: PreprocessOptions): Geometry {
  const mode = o.resize ?? 'stretch';
  const mult = o.multipleOf;
  const roundTo = (v: number): number => (mult ? Math.max(roundHalfEven(v / mult) * mult, mult) : v);
  const need = (what: string): never => {
    throw new Error(`the model's ${what} is dynamic and resize '${mode}' needs a target: set preprocess.size [H, W]`);
  };
  switch (mode) {
    case 'stretch': {
      const oh = H ?? o.size?.[0] ?? need('height');
      const ow = W ?? o.size?.[1] ?? need('width');
      return { outH: oh, outW: ow, rh: oh, rw: ow, top: 0, left: 0 };
    }
    case 'letterbox': {
      const oh = H ?? o.size?.[0] ?? need('height');
      const ow = W ?? o.size?.[1] ?? need('width');
      const r = Math.min(oh / h, ow / w);
      const rh = Math.min(oh, Math.max(1, Math.floor(h * r)));
      const rw = Math.min(ow, Math.max(1, Math.floor(w * r)));
      const center = (o.padPosition ?? 'center') === 'center';
      return { outH: oh, outW: ow, rh, rw, top: center ? Math.floor((oh - rh) / 2) : 0, left: center ? Math.floor((ow - rw) / 2) : 0 };
    }
    case 'crop': {
      const oh = H ?? o.size?.[0] ?? need('height');
      const ow = W ?? o.size?.[1] ?? need('width');
      // torchvision Resize(int): the short side becomes `short`, the long side int(short·long/short_side).
      const short = Math.round(Math.min(oh, ow) / (o.cropRatio ?? 0.875));
      const rh = h <= w ? short : Math.floor((short * h) / w);
      const rw = h <= w ? Math.floor((short * w) / h) : short;
      // CenterCrop: top = int(round((rh − oh) / 2)) (Python round).
      return { outH: oh, outW: ow, rh, rw, top: -roundHalfEven((rh - oh) / 2), left: -roundHalfEven((rw - ow) / 2) };
    }
    case 'limit-side': {
      if (H !== undefined && W !== undefined) return { outH: H, outW: W, rh: H, rw: W, top: 0, left: 0 };
      const limit = o.limitSideLen ?? 960;
      let ratio = 1;
      if ((o.limitType ?? 'max') === 'max') {
        if (Math.max(h, w) > limit) ratio = h > w ? limit / h : limit / w;
      } else if (Math.min(h, w) < limit) {
        ratio = h < w ? limit / h : limit / w;
      }
      // PaddleOCR DetResizeForTest.resize_image_type0: int() then round(/32)*32, at least 32.
      const rh = H ?? roundTo(Math.trunc(h * ratio));
      const rw = W ?? roundTo(Math.trunc(w * ratio));
      return { outH: rh, outW: rw, rh, rw, top: 0, left: 0 };
    }
    case 'height': {
      const oh = H ?? o.height ?? need('height');
      // PaddleOCR resize_norm_img: resized_w = ceil(imgH · w/h), capped at the target width.
      let rw = Math.ceil(oh * (w / h));
      const cap = W ?? o.maxWidth;
      if (cap !== undefined && rw > cap) rw = cap;
      const ow = W ?? (o.padToWidth !== undefined ? Math.max(o.padToWidth, rw) : rw);
      return { outH: oh, outW: ow, rh: oh, rw, top: 0, left: 0 };
    }
    case 'none': {
      const oh = H ?? roundTo(h);
      const ow = W ?? roundTo(w);
      return { outH: oh, outW: ow, rh: oh, rw: ow, top: 0, left: 0 };
    }
  }
}
