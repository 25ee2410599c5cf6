import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { decodeBmp, parseBmpHeader } from './bmp';
import { DEFAULT_LIMITS, raiseHint, type Limits } from '../limits';
import { readRange, readWhole } from './file-io';
import { ConfigError, DataError, messageOf } from '../errors';
import { convertTyped, type FeedType } from './dtype';
import { fmtDims } from './check';
import { planGeometry, type Geometry } from './image-geometry';
import type { Part } from './part';
import type { PreprocessOptions } from './preprocess-options';
import { PRESETS, PRESET_NAMES } from './presets';
import { renderImage } from './image-render';
import type { ModelInputSpec } from './types';

type Sharp = typeof import('sharp');
let sharpModule: Sharp | undefined;
/** sharp is loaded on first use: qcal runs on tensors without it. */
function loadSharp(): Sharp {
  if (!sharpModule) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      sharpModule = require('sharp') as Sharp;
    } catch (err) {
      throw new DataError(`image data needs the 'sharp' package (npm install sharp): ${messageOf(err)}`, { cause: err });
    }
  }
  return sharpModule;
}

export interface ResolvedPreprocess extends PreprocessOptions {
  /** Preset name, or 'custom' / 'PRESET+custom'. */
  name: string;
  /** false when the user asked for nothing (defaults of the 'none' preset apply to images). */
  used: boolean;
}

const KEYS: Record<keyof PreprocessOptions, (v: unknown) => boolean> = {
  preset: (v) => typeof v === 'string',
  resize: (v) => ['stretch', 'letterbox', 'crop', 'limit-side', 'height', 'none'].includes(v as string),
  size: (v) => Array.isArray(v) && v.length === 2 && v.every((x) => Number.isInteger(x) && x > 0),
  limitSideLen: (v) => typeof v === 'number' && v > 0,
  limitType: (v) => v === 'max' || v === 'min',
  multipleOf: (v) => Number.isInteger(v) && (v as number) > 0,
  height: (v) => Number.isInteger(v) && (v as number) > 0,
  maxWidth: (v) => Number.isInteger(v) && (v as number) > 0,
  padToWidth: (v) => Number.isInteger(v) && (v as number) > 0,
  cropRatio: (v) => typeof v === 'number' && v > 0 && v <= 1,
  padPosition: (v) => v === 'center' || v === 'topleft',
  padValue: (v) => typeof v === 'number' && Number.isFinite(v),
  mean: (v) => Array.isArray(v) && (v.length === 1 || v.length === 3) && v.every((x) => typeof x === 'number' && Number.isFinite(x)),
  scale: (v) => Array.isArray(v) && (v.length === 1 || v.length === 3) && v.every((x) => typeof x === 'number' && Number.isFinite(x)),
  pixelFormat: (v) => v === 'rgb' || v === 'bgr' || v === 'gray',
  layout: (v) => v === 'nchw' || v === 'nhwc',
  interpolation: (v) => v === 'bilinear' || v === 'nearest',
};

/** Merge a preset with overrides and check every setting; throws ConfigError listing all problems. */
export function resolvePreprocess(p: string | PreprocessOptions | undefined): ResolvedPreprocess {
  if (p === undefined) return { ...PRESETS.none, name: 'none', used: false };
  const o: PreprocessOptions = typeof p === 'string' ? { preset: p } : p;
  if (o === null || typeof o !== 'object') throw new ConfigError(`preprocess: expected a preset name (${PRESET_NAMES.join(', ')}) or an object of settings`);
  const problems: string[] = [];
  for (const [k, v] of Object.entries(o)) {
    const check = KEYS[k as keyof PreprocessOptions];
    if (!check) problems.push(`preprocess.${k}: unknown setting (known: ${Object.keys(KEYS).join(', ')})`);
    else if (v !== undefined && !check(v)) problems.push(`preprocess.${k}: invalid value ${JSON.stringify(v)}`);
  }
  const presetName = o.preset ?? 'none';
  const preset = PRESETS[presetName];
  if (!preset) problems.push(`preprocess: unknown preset '${presetName}' (known: ${PRESET_NAMES.join(', ')})`);
  if (problems.length) throw new ConfigError(problems.length === 1 ? problems[0]! : `invalid preprocess settings:\n  ${problems.join('\n  ')}`, { problems });
  const overrides = Object.keys(o).filter((k) => k !== 'preset');
  const name = typeof p === 'string' ? p : o.preset ? (overrides.length ? `${o.preset}+custom` : o.preset) : 'custom';
  return { ...PRESETS.none, ...preset, ...stripUndefined(o), name, used: true };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

interface Layout { layout: 'nchw' | 'nhwc'; channels: number; H: number | undefined; W: number | undefined }

const fixed = (d: number | string | null | undefined): number | undefined => (typeof d === 'number' && d > 0 ? d : undefined);

/** How an image input is laid out: rank 4 (or 3 without batch), channels 1 or 3. */
function layoutOf(input: ModelInputSpec, pre: ResolvedPreprocess): Layout {
  const d = input.dims.length === 4 ? input.dims.slice(1) : input.dims.length === 3 ? input.dims : undefined;
  if (!d) throw new DataError(`input '${input.name}' ${fmtDims(input.dims)} cannot take images: expected rank 4 (N, C, H, W) or (N, H, W, C)`);
  const isCh = (x: number | string | null | undefined): boolean => x === 1 || x === 3;
  const layout = pre.layout ?? (isCh(d[0]) ? 'nchw' : isCh(d[2]) ? 'nhwc' : 'nchw');
  const [c, h, w] = layout === 'nchw' ? [d[0], d[1], d[2]] : [d[2], d[0], d[1]];
  const fc = fixed(c);
  const want = pre.pixelFormat === 'gray' ? 1 : 3;
  if (fc !== undefined && fc !== want) {
    throw new DataError(`input '${input.name}' ${fmtDims(input.dims)} has ${fc} channel${fc === 1 ? '' : 's'} (${layout}), but preprocess '${pre.name}' makes ${want} (pixelFormat ${pre.pixelFormat}); set preprocess.pixelFormat${fc === 1 ? " to 'gray'" : ''} or preprocess.layout`);
  }
  return { layout, channels: want, H: fixed(h), W: fixed(w) };
}

/** libvips repeats its complaint on several lines; the first says it. */
const firstLine = (err: unknown): string => messageOf(err).split('\n')[0]!.trim();

/** Header of an image: its size after EXIF orientation. Throws Error with the reason. */
async function imageSize(file: string, isBmp: boolean, maxPixels: number): Promise<{ width: number; height: number }> {
  if (isBmp) {
    const st = await fsp.stat(file);
    const bi = parseBmpHeader(await readRange(file, 0, 138));
    // The same pixel limit sharp applies to the formats it decodes, checked before decoding.
    if (bi.width * bi.height > maxPixels) throw new DataError(`${file}: image of ${bi.width}×${bi.height} pixels is larger than limits.maxImagePixels (${maxPixels}); ${raiseHint('maxImagePixels')}`);
    const need = bi.dataOffset + bi.rowBytes * bi.height;
    if (st.size < need) throw new Error(`truncated BMP (${st.size} bytes, expected ${need})`);
    return { width: bi.width, height: bi.height };
  }
  const m = await loadSharp()(file, { limitInputPixels: maxPixels }).metadata();
  if (!m.width || !m.height) throw new Error('no image size in the header');
  if (m.width * m.height > maxPixels) throw new DataError(`${file}: image of ${m.width}×${m.height} pixels is larger than limits.maxImagePixels (${maxPixels}); ${raiseHint('maxImagePixels')}`);
  const swap = (m.orientation ?? 1) >= 5; // EXIF orientations 5–8 are transposed
  return swap ? { width: m.height, height: m.width } : { width: m.width, height: m.height };
}

/** Decode to interleaved 8-bit pixels, EXIF orientation applied, alpha dropped (as cv2.imread). */
async function decodePixels(file: string, isBmp: boolean, maxPixels: number): Promise<{ data: Uint8Array; width: number; height: number; channels: number }> {
  if (isBmp) return { ...decodeBmp(await readWhole(file), maxPixels), channels: 3 };
  const { data, info } = await loadSharp()(file, { limitInputPixels: maxPixels }).autoOrient().removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/** Image files → parts: the header is read now (size, orientation), pixels when the batch loads. */
export function imagePartMaker(pre: ResolvedPreprocess, limits: Limits = DEFAULT_LIMITS): (file: string, input: ModelInputSpec) => Promise<Part> {
  return async (file, input) => {
    const lay = layoutOf(input, pre);
    const isBmp = path.extname(file).toLowerCase() === '.bmp';
    let size: { width: number; height: number };
    try {
      size = await imageSize(file, isBmp, limits.maxImagePixels);
    } catch (err) {
      if (err instanceof DataError) throw err;
      throw new DataError(`${file}: cannot read image for input '${input.name}' (${firstLine(err)})`, { cause: err });
    }
    let g: Geometry;
    try {
      g = planGeometry(size.height, size.width, lay.H, lay.W, pre);
    } catch (err) {
      throw new DataError(`${file}: input '${input.name}' ${fmtDims(input.dims)}: ${messageOf(err)}`);
    }
    const identity = (pre.mean ?? [0]).every((m) => m === 0) && (pre.scale ?? [1]).every((s) => s === 1) && Number.isInteger(pre.padValue ?? 0);
    const type = input.type === 'uint8' && identity ? 'uint8' : 'float32';
    const dims = lay.layout === 'nchw' ? [lay.channels, g.outH, g.outW] : [g.outH, g.outW, lay.channels];
    return {
      file,
      label: file,
      dims,
      type,
      async load(target: FeedType) {
        let px: Awaited<ReturnType<typeof decodePixels>>;
        try {
          px = await decodePixels(file, isBmp, limits.maxImagePixels);
        } catch (err) {
          throw new DataError(`${file}: image fails to decode for input '${input.name}' (${firstLine(err)})`, { cause: err });
        }
        if (px.width !== size.width || px.height !== size.height) throw new DataError(`${file}: decoded ${px.width}×${px.height}, the header said ${size.width}×${size.height} (file changed since it was opened?)`);
        const out = renderImage(px.data, px.height, px.width, px.channels, g, lay, pre, type);
        return convertTyped(out, type, target);
      },
    };
  };
}
