import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ReportModel } from './report-model';

/** The page's scripts and style, inlined in order (no network access from the page). */
const CLIENT_FILES = ['hist-math.js', 'charts.js', 'report.js'];

/** Where the client files are: `client/` beside `src/` and `dist/`. */
function clientDir(): string {
  return path.join(__dirname, '..', 'client');
}

/** JSON that is safe inside a <script> element; non-finite numbers as "inf" / "-inf" / "NaN". */
export function embedJson(value: unknown): string {
  const json = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? (Number.isNaN(v) ? 'NaN' : v > 0 ? 'inf' : '-inf') : v));
  return json.replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const escapeHtml = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** The whole report page: one HTML file with its style, scripts and data inlined. */
export function renderReportHtml(model: ReportModel): string {
  const dir = clientDir();
  const css = fs.readFileSync(path.join(dir, 'report.css'), 'utf8');
  // A script must not contain "</script": the client files are ours and never do; check anyway.
  const scripts = CLIENT_FILES.map((f) => {
    const src = fs.readFileSync(path.join(dir, f), 'utf8');
    if (/<\/script/i.test(src)) throw new Error(`${f} contains "</script": it cannot be inlined`);
    return `<script>\n${src}\n</script>`;
  });
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="qcal ${escapeHtml(model.generator)}">
<title>${escapeHtml(model.title)}</title>
<style>
${css}
</style>
</head>
<body>
<header><h1 id="title">${escapeHtml(model.title)}</h1>
<nav><a href="#s-findings">where to look</a><a href="#s-run">run</a><a href="#s-eval">FP32 vs INT8</a><a href="#s-sens">sensitivity &amp; fallback</a><a href="#s-tensors">tensors</a></nav></header>
<div id="error"></div>
<main>
<section id="s-findings"><h2>Where to look</h2><div id="findings"></div></section>
<section id="s-tensors"><h2>Tensors <span class="muted" id="shown"></span></h2>
<div class="controls"><input type="search" id="filter" placeholder="filter by tensor or node name"><select id="opfilter"></select>
<label><input type="checkbox" id="onlyflag"> only flagged (clips &gt; 1%, tail &gt; 8, SQNR &lt; 10 dB, NaN/Inf, float)</label>
<span class="muted">click a column to sort, a row for its histogram</span></div>
<div class="tensors-layout"><div id="tensor-table"></div><div id="detail"></div></div></section>
<section id="s-eval"><h2>FP32 vs INT8</h2><div id="evaluation"></div></section>
<section id="s-sens"><h2>Sensitivity and higher-precision layers</h2><div id="sensitivity"></div></section>
<section id="s-run"><h2>Run</h2><div id="run"></div></section>
</main>
<script>
window.addEventListener('error', function (e) { var b = document.getElementById('error'); b.style.display = 'block'; b.textContent = 'report error: ' + e.message; });
</script>
<script type="application/json" id="qcal-data">${embedJson(model)}</script>
${scripts.join('\n')}
</body>
</html>
`;
}
