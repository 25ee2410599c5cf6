'use strict';
/**
 * Synthetic text rendering for the ppocr-rec example: SVG text through sharp (librsvg, DejaVu
 * fonts), deterministic for a seed. Latin letters and digits only (no CJK font is assumed).
 */
const sharp = require('sharp');

/** mulberry32: the same small PRNG qcal uses for shuffling; same seed, same data everywhere. */
function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (arr) => arr[Math.floor(next() * arr.length)],
  };
}

const WORDS = ('invoice total amount date order number customer account balance payment due receipt ' +
  'quantity price tax subtotal shipping address street city station platform gate departure arrival ' +
  'flight seat coach open closed exit entrance floor room office meeting agenda report summary chapter ' +
  'page section table figure model version update release notes warning caution danger keep left right').split(' ');
const FONTS = ['DejaVu Sans', 'DejaVu Serif', 'DejaVu Sans Mono', 'DejaVu Sans Condensed'];

/** A varied English/digit line: words, numbers, dates, prices, codes. */
function randomText(r) {
  const cap = (w) => w[0].toUpperCase() + w.slice(1);
  switch (r.int(0, 6)) {
    case 0: return `${cap(r.pick(WORDS))} ${r.pick(WORDS)} ${r.int(1, 9999)}`;
    case 1: return `${cap(r.pick(WORDS))}: $${r.int(1, 99999).toLocaleString('en-US')}.${String(r.int(0, 99)).padStart(2, '0')}`;
    case 2: return `${r.int(2000, 2030)}-${String(r.int(1, 12)).padStart(2, '0')}-${String(r.int(1, 28)).padStart(2, '0')}`;
    case 3: return `${r.pick(WORDS).toUpperCase()} ${String.fromCharCode(65 + r.int(0, 25))}${r.int(10, 999)}`;
    case 4: return Array.from({ length: r.int(2, 6) }, () => r.pick(WORDS)).join(' ');
    case 5: return `Tel ${r.int(100, 999)} ${r.int(100, 999)} ${r.int(1000, 9999)}`;
    default: return `${cap(r.pick(WORDS))} ${r.pick(WORDS)} No.${r.int(1, 500)}`;
  }
}

const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Colours: dark ink on a light ground, or now and then light on dark. */
function colours(r) {
  const light = [r.int(200, 255), r.int(200, 255), r.int(195, 255)];
  const dark = [r.int(0, 70), r.int(0, 70), r.int(0, 90)];
  return r.next() < 0.85 ? { bg: light, fg: dark } : { bg: dark, fg: light };
}
const css = (c) => `rgb(${c[0]},${c[1]},${c[2]})`;

/** Add seeded noise (±amp) to raw 3-channel pixels, in place. */
function addNoise(buf, r, amp) {
  for (let i = 0; i < buf.length; i++) buf[i] = Math.max(0, Math.min(255, buf[i] + Math.round((r.next() * 2 - 1) * amp)));
}

/** One text line as a PNG buffer: tight box around the text plus a small random margin. */
async function renderLine(r, { minSize = 18, maxSize = 40 } = {}) {
  const text = randomText(r);
  const size = r.int(minSize, maxSize);
  const font = r.pick(FONTS);
  const weight = r.next() < 0.3 ? 'bold' : 'normal';
  const { bg, fg } = colours(r);
  const w = Math.ceil(text.length * size * 0.75) + 40;
  const h = Math.ceil(size * 2);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">` +
    `<rect width="100%" height="100%" fill="${css(bg)}"/>` +
    `<text x="20" y="${Math.round(size * 1.35)}" font-family="${font}" font-weight="${weight}" font-size="${size}" fill="${css(fg)}">${esc(text)}</text></svg>`;
  const m = () => r.int(2, Math.max(3, Math.round(size / 4)));
  const bgc = { r: bg[0], g: bg[1], b: bg[2] };
  // One libvips pipeline: sharp trims before it extends.
  const { data, info } = await sharp(Buffer.from(svg)).flatten({ background: bgc }).trim({ background: bgc, threshold: 20 })
    .extend({ top: m(), bottom: m(), left: m(), right: m(), background: bgc })
    .removeAlpha().raw().toBuffer({ resolveWithObject: true });
  addNoise(data, r, r.int(2, 12));
  const png = await sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } }).png().toBuffer();
  return { text, png, width: info.width, height: info.height };
}

/** A size×size scene: a light ground with several text lines at random, non-overlapping places. */
async function renderScene(r, size) {
  const ground = [r.int(215, 255), r.int(215, 255), r.int(210, 255)];
  const lines = r.int(3, 8);
  const placed = [];
  const composites = [];
  for (let k = 0; k < lines * 4 && placed.length < lines; k++) {
    const line = await renderLine(r, { minSize: 14, maxSize: Math.max(16, Math.min(40, Math.round(size / 16))) });
    if (line.width > size - 20 || line.height > size / 4) continue;
    const left = r.int(5, size - line.width - 5);
    const top = r.int(5, size - line.height - 5);
    if (placed.some((p) => left < p.left + p.width && p.left < left + line.width && top < p.top + p.height && p.top < top + line.height)) continue;
    placed.push({ left, top, width: line.width, height: line.height, text: line.text });
    composites.push({ input: line.png, left, top });
  }
  const base = sharp({ create: { width: size, height: size, channels: 3, background: { r: ground[0], g: ground[1], b: ground[2] } } });
  const { data } = await base.composite(composites).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  addNoise(data, r, 4);
  const png = await sharp(data, { raw: { width: size, height: size, channels: 3 } }).png().toBuffer();
  return { png, boxes: placed };
}

module.exports = { rng, randomText, renderLine, renderScene };
