// @ts-check
/**
 * Hand-written SVG charts of the report: a histogram with ranges drawn on it (full size and as a
 * table sparkline), a per-layer line chart along the graph, a bar chart along the graph. Each
 * returns SVG markup; every text that comes from the model is escaped.
 */
(function (root, factory) {
  const api = factory();
  if (typeof module === 'object' && module.exports) module.exports = api;
  else /** @type {any} */ (root).qcalCharts = api;
})(typeof self !== 'undefined' ? self : this, function () {
  'use strict';

  /** @param {unknown} s */
  function esc(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] || c);
  }

  /** Compact number for axes and labels. @param {number} v */
  function fmt(v) {
    if (typeof v !== 'number') return '';
    if (v === Infinity) return '∞';
    if (v === -Infinity) return '−∞';
    if (Number.isNaN(v)) return 'NaN';
    if (v === 0) return '0';
    const a = Math.abs(v);
    // 4 significant digits, trailing zeros dropped: 40, 2.25, 61.81, 0.0123, 1.5e-5, 2.4e6.
    const s = a >= 1e5 || a < 1e-3 ? v.toExponential(2).replace('e+', 'e').replace(/\.?0+e/, 'e') : String(Number(v.toPrecision(4)));
    return s.replace('-', '−');
  }

  /** About `n` round tick values covering [lo, hi]. @param {number} lo @param {number} hi @param {number} n */
  function ticks(lo, hi, n) {
    if (!(hi > lo)) return [lo];
    const raw = (hi - lo) / n;
    const mag = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    return out;
  }

  /**
   * @typedef {{ width: number, offset: number, counts: number[] }} Hist
   * @typedef {{ label: string, color: string, lo: number, hi: number, float?: boolean }} RangeMark
   */

  /**
   * The x domain of a tensor's chart: its bins and every collector's range, padded.
   * @param {Hist | undefined} h @param {RangeMark[]} ranges
   */
  function domain(h, ranges) {
    let lo = Infinity;
    let hi = -Infinity;
    if (h && h.counts.length) {
      lo = h.offset * h.width;
      hi = (h.offset + h.counts.length) * h.width;
    }
    for (const r of ranges) {
      lo = Math.min(lo, r.lo);
      hi = Math.max(hi, r.hi);
    }
    if (!(hi > lo)) {
      const c = Number.isFinite(lo) ? lo : 0;
      return [c - 1, c + 1];
    }
    const pad = (hi - lo) * 0.03;
    return [lo - pad, hi + pad];
  }

  /**
   * A histogram with each collector's range: full chart (opts.mini false) or sparkline.
   * @param {{ hist?: Hist, ranges: RangeMark[], log: boolean, width: number, height: number, mini?: boolean, title?: string }} o
   */
  function histogram(o) {
    const { hist, ranges, log, width: W, height: H, mini } = o;
    const m = mini ? { l: 1, r: 1, t: 2, b: 2 } : { l: 52, r: 12, t: 10 + 16 * ranges.length, b: 30 };
    const pw = W - m.l - m.r;
    const ph = H - m.t - m.b;
    const [x0, x1] = domain(hist, ranges);
    const X = (/** @type {number} */ v) => m.l + ((v - x0) / (x1 - x0)) * pw;
    const f = (/** @type {number} */ c) => (log ? Math.log10(1 + c) : c);
    const counts = hist ? hist.counts : [];
    let ymax = 0;
    for (const c of counts) ymax = Math.max(ymax, f(c));
    if (!mini) ymax *= 1.12; // headroom for spike labels
    const Y = (/** @type {number} */ c) => m.t + ph - (ymax > 0 ? (f(c) / ymax) * ph : 0);
    const parts = [];
    parts.push(`<svg class="chart ${mini ? 'mini' : 'hist'}" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img">`);
    if (o.title) parts.push(`<title>${esc(o.title)}</title>`);
    // Clipped zones of every range (light), under the bars.
    if (!mini) {
      parts.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" class="plot-bg"/>`);
      for (const t of ticks(x0, x1, 6)) {
        const x = X(t);
        parts.push(`<line x1="${x}" x2="${x}" y1="${m.t}" y2="${m.t + ph}" class="grid"/><text x="${x}" y="${H - m.b + 14}" class="tick" text-anchor="middle">${fmt(t)}</text>`);
      }
      const yt = log ? logTicks(ymax) : ticks(0, ymax, 4);
      for (const t of yt) {
        const y = m.t + ph - (ymax > 0 ? (t / ymax) * ph : 0);
        const label = log ? fmt(Math.round(10 ** t - 1)) : fmt(t);
        parts.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${y}" y2="${y}" class="grid"/><text x="${m.l - 4}" y="${y + 3}" class="tick" text-anchor="end">${label}</text>`);
      }
      if (x0 < 0 && x1 > 0) parts.push(`<line x1="${X(0)}" x2="${X(0)}" y1="${m.t}" y2="${m.t + ph}" class="zero"/>`);
    }
    // Range lines go under the bars (a spike at a range's end, e.g. ReLU6 outputs at exactly 6,
    // must stay visible); brackets and labels above the plot come after.
    const under = [];
    const over = [];
    ranges.forEach((r, i) => {
      const a = X(r.lo);
      const b = X(r.hi);
      const dash = r.float ? ' stroke-dasharray="2 3"' : '';
      if (mini) {
        under.push(`<line x1="${a}" x2="${a}" y1="0" y2="${H}" stroke="${r.color}" stroke-width="1.5"${dash}/><line x1="${b}" x2="${b}" y1="0" y2="${H}" stroke="${r.color}" stroke-width="1.5"${dash}/>`);
        return;
      }
      const y = 8 + 16 * i;
      const vd = ` stroke-dasharray="${r.float ? '2 3' : '5 3'}"`;
      under.push(`<line x1="${a}" x2="${a}" y1="${y}" y2="${m.t + ph}" stroke="${r.color}" stroke-width="1.5"${vd}/><line x1="${b}" x2="${b}" y1="${y}" y2="${m.t + ph}" stroke="${r.color}" stroke-width="1.5"${vd}/>`);
      over.push(`<g class="range"><title>${esc(`${r.label}: [${r.lo}, ${r.hi}]${r.float ? ' (kept in higher precision)' : ''}`)}</title>`
        + `<line x1="${a}" x2="${b}" y1="${y}" y2="${y}" stroke="${r.color}" stroke-width="3"${dash}/>`
        + `<text x="${m.l - 4}" y="${y + 4}" class="rlabel" fill="${r.color}" text-anchor="end">${esc(r.label)}${r.float ? '*' : ''}</text></g>`);
    });
    parts.push(...under);
    if (hist && counts.length) {
      let d = '';
      const base = m.t + ph;
      for (let k = 0; k < counts.length; k++) {
        if (!counts[k]) continue;
        const a = X((hist.offset + k) * hist.width);
        const b = Math.max(X((hist.offset + k + 1) * hist.width), a + (mini ? 0.8 : 2));
        d += `M${a.toFixed(2)} ${base}V${Y(counts[k]).toFixed(2)}H${b.toFixed(2)}V${base}Z`;
      }
      parts.push(`<path class="bars" d="${d}"/>`);
      if (!mini) parts.push(...spikeLabels(hist, X, Y));
    } else if (!mini) {
      parts.push(`<text x="${m.l + pw / 2}" y="${m.t + ph / 2}" class="nodata" text-anchor="middle">no histogram: the run kept only min/max for this tensor</text>`);
    }
    parts.push(...over);
    if (!mini) parts.push(`<text x="${m.l + 4}" y="${m.t + 12}" class="axis-note">${log ? 'count (log scale)' : 'count'}</text>`);
    parts.push('</svg>');
    return parts.join('');
  }

  /**
   * Labels for spikes — a bin holding over 5 % of the values and 10× the median occupied bin
   * (zeros after a ReLU, ReLU6 outputs at exactly 6): thin bars that would pass for range lines.
   * @param {Hist} h @param {(v: number) => number} X @param {(c: number) => number} Y
   */
  function spikeLabels(h, X, Y) {
    let total = 0;
    for (const c of h.counts) total += c;
    const nz = h.counts.filter((c) => c > 0).sort((a, b) => a - b);
    const median = nz[Math.floor(nz.length / 2)] || 0;
    const out = [];
    h.counts.forEach((c, k) => {
      if (c > 0.05 * total && c > 10 * median && out.length < 3) {
        const v = (h.offset + k) * h.width;
        const x = X(v + h.width / 2);
        out.push(`<g class="spike"><circle cx="${x.toFixed(1)}" cy="${(Y(c) - 5).toFixed(1)}" r="3"/><text x="${x.toFixed(1)}" y="${(Y(c) - 11).toFixed(1)}" text-anchor="${k > h.counts.length / 2 ? 'end' : 'start'}">${((100 * c) / total).toFixed(1)}% in [${fmt(v)}, ${fmt(v + h.width)})</text></g>`);
      }
    });
    return out;
  }

  /** Tick positions on a log10(1+c) axis: 1, 10, 100, … as axis values. @param {number} ymax */
  function logTicks(ymax) {
    const out = [0];
    for (let e = 1; e <= Math.floor(ymax); e++) if (Math.floor(ymax) <= 6 || e % 2 === 0) out.push(Math.log10(1 + 10 ** e));
    return out;
  }

  /**
   * Values along the graph (x = tensor position), one series per collector; points clickable
   * (data-tensor). Non-finite values are drawn at the top edge with a ▲ (e.g. SQNR +∞: exact).
   * @param {{ series: { label: string, color: string, points: { i: number, v: number, name: string }[] }[], n: number, width: number, height: number, yLabel: string, lowIsBad: boolean, highlight?: Set<string> }} o
   */
  function alongGraph(o) {
    const { series, n, width: W, height: H } = o;
    const m = { l: 52, r: 12, t: 12, b: 30 };
    const pw = W - m.l - m.r;
    const ph = H - m.t - m.b;
    let lo = Infinity;
    let hi = -Infinity;
    for (const s of series) for (const p of s.points) if (Number.isFinite(p.v)) { lo = Math.min(lo, p.v); hi = Math.max(hi, p.v); }
    if (!(hi > lo)) { lo = Number.isFinite(lo) ? lo - 1 : 0; hi = lo + 2; }
    const pad = (hi - lo) * 0.06;
    lo -= pad;
    hi += pad;
    const X = (/** @type {number} */ i) => m.l + (n > 1 ? (i / (n - 1)) * pw : pw / 2);
    const Y = (/** @type {number} */ v) => (Number.isFinite(v) ? m.t + ph - ((v - lo) / (hi - lo)) * ph : v > 0 ? m.t : m.t + ph);
    const parts = [`<svg class="chart along" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img">`];
    parts.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" class="plot-bg"/>`);
    for (const t of ticks(lo, hi, 5)) {
      const y = Y(t);
      parts.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${y}" y2="${y}" class="grid"/><text x="${m.l - 4}" y="${y + 3}" class="tick" text-anchor="end">${fmt(t)}</text>`);
    }
    for (const t of ticks(0, Math.max(n - 1, 1), 8)) parts.push(`<text x="${X(t)}" y="${H - m.b + 14}" class="tick" text-anchor="middle">${Math.round(t)}</text>`);
    parts.push(`<text x="${m.l + pw / 2}" y="${H - 4}" class="axis-note" text-anchor="middle">tensor position in the graph (input → output)</text>`);
    parts.push(`<text x="${m.l - 44}" y="${m.t - 2}" class="axis-note">${esc(o.yLabel)}</text>`);
    for (const s of series) {
      const pts = s.points.slice().sort((a, b) => a.i - b.i);
      parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.2" stroke-opacity="0.7" points="${pts.map((p) => `${X(p.i).toFixed(1)},${Y(p.v).toFixed(1)}`).join(' ')}"/>`);
      for (const p of pts) {
        const hl = o.highlight && o.highlight.has(p.name);
        parts.push(`<circle class="pt${hl ? ' hl' : ''}" data-tensor="${esc(p.name)}" cx="${X(p.i).toFixed(1)}" cy="${Y(p.v).toFixed(1)}" r="${hl ? 4 : 2.4}" fill="${s.color}"><title>${esc(`#${p.i} ${p.name}\n${s.label}: ${fmt(p.v)} ${o.yLabel}`)}</title></circle>`);
      }
    }
    parts.push('</svg>');
    return parts.join('');
  }

  /**
   * Bars along the graph (x = tensor position): one per tensor, highlighted ones in red.
   * @param {{ bars: { i: number, v: number, name: string, hl?: boolean }[], n: number, width: number, height: number, yLabel: string, color: string }} o
   */
  function barsAlongGraph(o) {
    const { bars, n, width: W, height: H } = o;
    const m = { l: 52, r: 12, t: 12, b: 30 };
    const pw = W - m.l - m.r;
    const ph = H - m.t - m.b;
    let hi = 0;
    let lo = 0;
    for (const b of bars) if (Number.isFinite(b.v)) { hi = Math.max(hi, b.v); lo = Math.min(lo, b.v); }
    if (!(hi > lo)) hi = lo + 1;
    const bw = Math.max(pw / Math.max(n, 1), 1.2);
    const X = (/** @type {number} */ i) => m.l + (i / Math.max(n, 1)) * pw;
    const Y = (/** @type {number} */ v) => m.t + ph - ((Math.min(Math.max(v, lo), hi) - lo) / (hi - lo)) * ph;
    const parts = [`<svg class="chart bars-along" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img">`];
    parts.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" class="plot-bg"/>`);
    for (const t of ticks(lo, hi, 4)) {
      const y = Y(t);
      parts.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${y}" y2="${y}" class="grid"/><text x="${m.l - 4}" y="${y + 3}" class="tick" text-anchor="end">${fmt(t)}</text>`);
    }
    for (const t of ticks(0, Math.max(n - 1, 1), 8)) parts.push(`<text x="${X(t) + bw / 2}" y="${H - m.b + 14}" class="tick" text-anchor="middle">${Math.round(t)}</text>`);
    parts.push(`<text x="${m.l + pw / 2}" y="${H - 4}" class="axis-note" text-anchor="middle">tensor position in the graph (input → output)</text>`);
    parts.push(`<text x="${m.l - 44}" y="${m.t - 2}" class="axis-note">${esc(o.yLabel)}</text>`);
    const y0 = Y(0);
    for (const b of bars) {
      const v = Number.isNaN(b.v) ? hi : b.v;
      const y = Y(v);
      parts.push(`<rect class="bar${b.hl ? ' hl' : ''}" data-tensor="${esc(b.name)}" x="${X(b.i).toFixed(1)}" y="${Math.min(y, y0).toFixed(1)}" width="${bw.toFixed(2)}" height="${Math.max(Math.abs(y0 - y), 0.8).toFixed(1)}" fill="${b.hl ? '#d62728' : o.color}"><title>${esc(`#${b.i} ${b.name}\n${o.yLabel}: ${fmt(b.v)}${b.hl ? '\nkept in higher precision' : ''}`)}</title></rect>`);
    }
    parts.push('</svg>');
    return parts.join('');
  }

  return { esc, fmt, ticks, domain, histogram, alongGraph, barsAlongGraph };
});
