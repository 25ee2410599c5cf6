// @ts-check
/**
 * The report page: reads the embedded JSON (#qcal-data) and builds the sections. Charts of the
 * tensor table are drawn only when their row scrolls into view (IntersectionObserver), so a model
 * with hundreds of tensors opens at once.
 */
(function () {
  'use strict';
  /** @type {any} */
  const w = window;
  const M = w.qcalHistMath;
  const C = w.qcalCharts;
  const { esc, fmt } = C;
  const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22'];

  const revive = (/** @type {string} */ _k, /** @type {unknown} */ v) => (v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v === 'NaN' ? NaN : v);
  const el = document.getElementById('qcal-data');
  /** @type {any} */
  const data = JSON.parse(el ? el.textContent || '{}' : '{}', revive);
  const tensors = /** @type {any[]} */ (data.tensors);
  tensors.forEach((t, i) => { t.i = i; });
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const labels = data.collectors.map((/** @type {any} */ c) => c.label);
  const color = new Map(labels.map((/** @type {string} */ l, /** @type {number} */ i) => [l, PALETTE[i % PALETTE.length]]));
  const evalLabels = data.evaluations.map((/** @type {any} */ e) => e.label);
  const harmLabels = [...new Set(data.sensitivities.map((/** @type {any} */ s) => s.label))];

  // Derived per tensor: clip fraction per collector, tail ratio, non-finite total.
  for (const t of tensors) {
    t.clip = {};
    if (t.hist && t.hist.counts.length) {
      for (const [l, r] of Object.entries(t.ranges)) t.clip[l] = M.clippedByQuantizer(t.hist, r[0], r[1]);
      t.tail = t.hist.min !== null ? M.tailRatio(t.hist, t.hist.min, t.hist.max) : NaN;
    } else t.tail = NaN;
    const nf = t.hist ? t.hist.nan + t.hist.posInf + t.hist.negInf : 0;
    t.nonFiniteTotal = Math.max(nf, t.nonFinite ? t.nonFinite.nan + t.nonFinite.inf : 0);
    t.log = t.hist ? M.wantsLog(t.hist.counts) : false;
  }

  /** 3 significant digits, for dense table cells. @param {number} v */
  const fmt3 = (v) => (Number.isFinite(v) && v !== 0 && Math.abs(v) >= 1e-3 && Math.abs(v) < 1e5 ? String(Number(v.toPrecision(3))).replace('-', '−') : fmt(v));
  const pct = (/** @type {number} */ f) => (f === undefined || Number.isNaN(f) ? '' : f === 0 ? '0' : f < 1e-4 ? '<0.01%' : `${(f * 100).toFixed(f < 0.01 ? 2 : 1)}%`);
  const rangesOf = (/** @type {any} */ t) => Object.entries(t.ranges).map(([l, r]) => ({ label: l, color: color.get(l) || '#555', lo: r[0], hi: r[1], float: t.float.includes(l) }));
  /** The harm shown for a ranked tensor: its own loss/gain, else its block's (coarse ranking). @param {any} h @param {string} key */
  const harmValue = (h, key) => (h[key] !== undefined ? h[key] : h.loss !== undefined ? h.loss : h.gain !== undefined ? h.gain : h.block);
  const link = (/** @type {string} */ name) => `<a href="#" class="tlink" data-tensor="${esc(name)}">${esc(name)}</a>`;

  // ---------- header and run ----------
  function renderRun() {
    const r = data.run;
    const rows = [];
    const model = r ? r.model : data.collectors[0] ? '' : '';
    if (r) {
      rows.push(['model', `${esc(r.model)}<div class="sub">sha256 ${esc(r.modelSha256.slice(0, 16))}…</div>`]);
      rows.push(['data', `${esc(r.data.describe)}<div class="sub">${r.data.samples} samples in ${r.data.batches} batches · fingerprint ${esc(r.data.fingerprint.slice(0, 12))}…</div>`]);
      rows.push(['tensors', `${r.selection.selected} of ${r.selection.calibratable} float tensors calibrated (${r.selection.full} fetched in full, ${r.selection.range} reduced to min/max in the graph)${r.selection.include ? ` · include ${esc(r.selection.include.join(', '))}` : ''}${r.selection.exclude ? ` · exclude ${esc(r.selection.exclude.join(', '))}` : ''}`]);
      const t = r.timings;
      rows.push(['time', `${t.totalMs !== undefined ? `${(t.totalMs / 1000).toFixed(1)} s in all: ` : ''}inference ${(t.inferenceMs / 1000).toFixed(1)} s, collect ${(t.collectMs / 1000).toFixed(1)} s${t.postCollectMs !== undefined ? `, postCollect ${(t.postCollectMs / 1000).toFixed(1)} s` : ''}<div class="sub">run ${esc(r.createdAt)} · qcal ${esc(r.qcalVersion)}${r.shard ? ` · shard ${r.shard.index}/${r.shard.count}` : ''}</div>`]);
      if (r.command) rows.push(['command', `<code>${esc(r.command.join(' '))}</code>`]);
    } else if (data.collectors[0]) {
      rows.push(['model', esc(tensors.length ? (data.collectors[0].model || '') : '')]);
    }
    rows.push(['collectors', data.collectors.map((/** @type {any} */ c) => `<div class="coll"><span class="swatch" style="background:${color.get(c.label)}"></span><b>${esc(c.label)}</b>${c.name !== c.label ? ` (${esc(c.name)})` : ''} · ${c.tensors} tensors${c.samples !== undefined ? ` · ${c.samples} samples` : ''}${c.floatFallback ? ` · ${c.floatFallback.tensors.length} kept in higher precision` : ''}<div class="sub opts">${esc(JSON.stringify(c.options))}</div></div>`).join('') || '<i>none</i>']);
    if (data.histograms) {
      const h = data.histograms;
      let looked = 0;
      let all = 0;
      for (const t of tensors) if (t.hist) { looked += t.hist.count; all += t.hist.values || t.hist.count; }
      const how = h.stride === 1 ? 'every value' : h.stride > 1 ? `every ${h.stride}th value` : 'about 16384 values of each tensor per batch (every n-th block of 16 values, n odd)';
      rows.push(['histograms', `${h.bins} bins per tensor from the calibration pass itself (no extra inference), ${how}: ${looked.toLocaleString()} of ${all.toLocaleString()} values looked at (${all ? ((100 * looked) / all).toPrecision(3) : 0}%); ${(h.ms / 1000).toFixed(1)} s spent on them`]);
    } else {
      rows.push(['histograms', '<span class="warn">none in this directory (run.json absent or the run kept only in-graph min/max): ranges only</span>']);
    }
    if (data.snapshots.length) rows.push(['shards', data.snapshots.map((/** @type {any} */ s) => `${esc(s.label)}: shard ${s.shard.index}/${s.shard.count}, ${s.samples} samples`).join('<br>')]);
    if (data.problems.length) rows.push(['unreadable files', `<span class="warn">${data.problems.map(esc).join('<br>')}</span>`]);
    rows.push(['report', `${esc(data.dir)} · built ${esc(data.generatedAt)} by qcal ${esc(data.generator)}`]);
    void model;
    return `<table class="kv">${rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('')}</table>`;
  }

  // ---------- findings ----------
  function renderFindings() {
    const items = [];
    for (const e of data.evaluations) {
      const worstOut = e.outputs.slice().sort((/** @type {any} */ a, /** @type {any} */ b) => a.cosine - b.cosine)[0];
      const layers = tensors.filter((t) => t.eval[e.label]).sort((a, b) => a.eval[e.label].sqnrDb - b.eval[e.label].sqnrDb);
      let s = `<b style="color:${color.get(e.label)}">${esc(e.label)}</b>: INT8 output ${worstOut ? `${esc(worstOut.name)} cosine <b>${fmt(worstOut.cosine)}</b>, SQNR ${fmt(worstOut.sqnrDb)} dB` : 'not compared'} (${e.samples} samples)`;
      if (layers.length) s += `; lowest per-layer SQNR: ${layers.slice(0, 3).map((t) => `${link(t.name)} ${fmt(t.eval[e.label].sqnrDb)} dB`).join(', ')}`;
      items.push(s);
    }
    for (const s of data.sensitivities) {
      const ranked = tensors.filter((t) => t.harm[s.label]).sort((a, b) => a.harm[s.label].rank - b.harm[s.label].rank);
      const key = s.rankedBy;
      let txt = `<b style="color:${color.get(s.label)}">${esc(s.label)}</b> ${s.kind === 'fallback' ? 'fallback search' : 'sensitivity'}: most harmful ${ranked.slice(0, 3).map((t) => `${link(t.name)} (${key} ${fmt(harmValue(t.harm[s.label], key))})`).join(', ')}`;
      if (s.kind === 'fallback') txt += `; ${s.exclude.length} kept in higher precision, ${s.metric} ${fmt(s.score.heldOut !== undefined ? s.score.heldOut : s.score.search)} vs target ${fmt(s.target)} ${s.met ? '(met)' : '<span class="warn">(not met)</span>'}, ${fmt(s.allQuantizedHeldOut !== undefined ? s.allQuantizedHeldOut : s.allQuantized)} with everything quantized`;
      items.push(txt);
    }
    for (const l of labels) {
      const worst = tensors.filter((t) => t.clip[l] !== undefined).sort((a, b) => b.clip[l] - a.clip[l]);
      if (worst.length && worst[0].clip[l] > 0) items.push(`<b style="color:${color.get(l)}">${esc(l)}</b> clips most: ${worst.slice(0, 3).map((t) => `${link(t.name)} ${pct(t.clip[l])}`).join(', ')}`);
    }
    const tails = tensors.filter((t) => Number.isFinite(t.tail)).sort((a, b) => b.tail - a.tail);
    if (tails.length && tails[0].tail > 4) items.push(`outlier-dominated ranges (max |x| over the 99.99th percentile): ${tails.slice(0, 3).map((t) => `${link(t.name)} ×${fmt(t.tail)}`).join(', ')} — a min/max range spends most of its levels on a few values there`);
    const noHist = tensors.filter((t) => !t.hist || !t.hist.counts.length).length;
    if (noHist) items.push(`<span class="warn">no histogram for ${noHist} of ${tensors.length} tensors</span>: the run computed only their min/max inside the graph (only range collectors such as minmax calibrate them), so no values reached qcal; calibrate with a histogram collector too (e.g. --collector hfmg) to see their distributions and what each range clips`);
    const nf = tensors.filter((t) => t.nonFiniteTotal > 0);
    items.push(nf.length ? `<span class="warn">non-finite values in ${nf.length} tensor(s)</span>: ${nf.slice(0, 5).map((t) => link(t.name)).join(', ')}` : 'no NaN or ±Inf in any calibrated tensor');
    return `<ul class="findings">${items.map((s) => `<li>${s}</li>`).join('')}</ul>`;
  }

  // ---------- evaluation ----------
  function renderEvaluation() {
    if (!data.evaluations.length) return '<p class="muted">No evaluation in this directory (run calibrate with --evaluate).</p>';
    const parts = [];
    parts.push('<table class="grid-table"><thead><tr><th>collector</th><th>output</th><th>cosine</th><th>worst-sample cosine</th><th>SQNR dB</th><th>max abs err</th><th>samples</th><th>latency FP32 / INT8</th></tr></thead><tbody>');
    for (const e of data.evaluations) {
      for (const o of e.outputs) {
        parts.push(`<tr><td><span class="swatch" style="background:${color.get(e.label)}"></span>${esc(e.label)}</td><td>${esc(o.name)}</td><td class="num">${fmt(o.cosine)}</td><td class="num">${fmt(o.worstBatchCosine)}</td><td class="num">${fmt(o.sqnrDb)}</td><td class="num">${fmt(o.maxAbsError)}</td><td class="num">${e.samples}</td><td class="num">${e.latency ? `${e.latency.fp32Ms.toFixed(1)} / ${e.latency.int8Ms.toFixed(1)} ms` : ''}</td></tr>`);
      }
    }
    parts.push('</tbody></table>');
    const series = evalLabels.map((/** @type {string} */ l) => ({ label: l, color: color.get(l), points: tensors.filter((t) => t.eval[l]).map((t) => ({ i: t.i, v: t.eval[l].sqnrDb, name: t.name })) })).filter((/** @type {any} */ s) => s.points.length);
    if (series.length) {
      parts.push('<h3>Per-layer SQNR along the graph <span class="muted">(INT8 model\'s value of each calibrated tensor vs FP32; low = bad; click a point)</span></h3>');
      parts.push(`<div class="legend">${series.map((/** @type {any} */ s) => `<span><span class="swatch" style="background:${s.color}"></span>${esc(s.label)}</span>`).join('')}</div>`);
      parts.push(C.alongGraph({ series, n: tensors.length, width: 1100, height: 260, yLabel: 'SQNR dB', lowIsBad: true }));
    } else parts.push('<p class="muted">No per-layer comparison (evaluate with --per-layer).</p>');
    return parts.join('');
  }

  // ---------- sensitivity / fallback ----------
  function renderSensitivity() {
    if (!data.sensitivities.length) return '<p class="muted">No sensitivity or fallback search in this directory (calibrate with --target-cos, or save qcal sensitivity --json DIR/&lt;collector&gt;.sensitivity.json).</p>';
    const parts = [];
    for (const s of data.sensitivities) {
      const key = s.rankedBy;
      const floatSet = new Set(s.exclude || []);
      const bars = tensors.filter((t) => t.harm[s.label] && harmValue(t.harm[s.label], key) !== undefined).map((t) => ({ i: t.i, v: harmValue(t.harm[s.label], key), name: t.name, hl: floatSet.has(t.name) }));
      parts.push(`<h3><span class="swatch" style="background:${color.get(s.label)}"></span>${esc(s.label)}: ${s.kind === 'fallback' ? 'FP32-fallback search' : 'sensitivity'} <span class="muted">(${key === 'loss' ? `${esc(s.metric)} lost when only that tensor is quantized` : `${esc(s.metric)} won back when only that tensor stays float`}; ${s.samples} samples)</span></h3>`);
      parts.push(C.barsAlongGraph({ bars, n: tensors.length, width: 1100, height: 200, yLabel: `${key} (${s.metric})`, color: color.get(s.label) || '#555' }));
      if (s.kind === 'fallback') {
        const scoreTxt = s.score.heldOut !== undefined ? `${fmt(s.score.heldOut)} on held-out samples (${fmt(s.score.search)} on the search samples)` : fmt(s.score.search);
        parts.push(`<p>Target ${esc(s.metric)} ≥ ${fmt(s.target)}: ${s.met ? '<b>met</b>' : '<b class="warn">not met</b>'} with ${s.exclude.length} tensor(s) in higher precision — ${scoreTxt}; everything quantized: ${fmt(s.allQuantizedHeldOut !== undefined ? s.allQuantizedHeldOut : s.allQuantized)}.</p>`);
        if (s.exclude.length) {
          parts.push(`<p class="muted">Why these: the search keeps the most harmful tensors (by ${key}, ranked on ${s.samples} samples) in higher precision, as few as reach the target; the red bars above.</p>`);
          parts.push(`<div class="scrollbox"><table class="grid-table"><thead><tr><th>kept in higher precision (${s.exclude.length})</th><th>op</th><th class="num">rank</th><th class="num">${key} alone</th></tr></thead><tbody>`);
          for (const name of s.exclude) {
            const t = byName.get(name);
            const h = t && t.harm[s.label];
            const v = h ? harmValue(h, key) : undefined;
            parts.push(`<tr><td>${link(name)}</td><td>${esc(t ? t.opType : '')}</td><td class="num">${h ? `#${h.rank}` : ''}</td><td class="num">${v !== undefined ? fmt(v) : ''}</td></tr>`);
          }
          parts.push('</tbody></table></div>');
        }
      }
    }
    return parts.join('');
  }

  // ---------- tensor table ----------
  /** @type {{ key: string, label: string, get: (t: any) => number | string, cls?: string, title?: string }[]} */
  const columns = [
    { key: 'i', label: '#', get: (t) => t.i, cls: 'num' },
    { key: 'hist', label: 'histogram', get: (t) => t.i },
    { key: 'name', label: 'tensor', get: (t) => t.name },
    { key: 'op', label: 'op', get: (t) => t.opType },
    ...evalLabels.map((/** @type {string} */ l) => ({ key: `sqnr:${l}`, label: `${l} SQNR`, get: (/** @type {any} */ t) => (t.eval[l] ? -t.eval[l].sqnrDb : -Infinity), cls: 'num', title: 'INT8 vs FP32 SQNR of this tensor, dB (sorting puts the lowest first)' })),
    ...harmLabels.map((l) => ({ key: `harm:${l}`, label: `${l} harm`, get: (/** @type {any} */ t) => (t.harm[l] ? -t.harm[l].rank : -Infinity), cls: 'num', title: 'sensitivity: metric lost when only this tensor is quantized (rank 1 = most harmful)' })),
    { key: 'range', label: 'data range', get: (t) => (t.hist && t.hist.max !== null ? t.hist.max - t.hist.min : -1), cls: 'num', title: 'finite min and max seen in calibration' },
    { key: 'tail', label: 'tail', get: (t) => (Number.isFinite(t.tail) ? t.tail : -1), cls: 'num', title: 'max |x| over the 99.99th percentile of |x|: large = a few outliers set the min/max range' },
    ...(tensors.some((t) => t.nonFiniteTotal > 0) ? [{ key: 'nonfinite', label: 'NaN/Inf', get: (/** @type {any} */ t) => t.nonFiniteTotal, cls: 'num' }] : []),
    ...labels.map((/** @type {string} */ l) => ({ key: `clip:${l}`, label: `${l} clips`, get: (/** @type {any} */ t) => (t.clip[l] !== undefined ? t.clip[l] : t.ranges[l] ? -0.5 : -1), cls: 'num', title: `range chosen by ${l}, and the share of calibration values it clips (more than half an 8-bit step outside the range)` })),
  ];

  /** @param {any} t @param {string} key */
  function cell(t, key) {
    if (key === 'i') return String(t.i);
    if (key === 'hist') return '<div class="spark"></div>';
    if (key === 'name') return `<div class="tname">${esc(t.name)}</div>${t.op ? `<div class="sub">${esc(t.op)}</div>` : ''}`;
    if (key === 'op') return `${esc(t.opType)}${t.dims && t.dims.length ? `<div class="sub">[${t.dims.join('×')}]</div>` : ''}`;
    if (key === 'range') return t.hist && t.hist.max !== null ? `<span class="nowrap">${fmt(t.hist.min)} … ${fmt(t.hist.max)}</span>` : '';
    if (key === 'tail') return Number.isFinite(t.tail) ? `<span class="${t.tail > 8 ? 'bad' : t.tail > 4 ? 'meh' : ''}">×${fmt(t.tail)}</span>` : '';
    if (key === 'nonfinite') return t.nonFiniteTotal ? `<span class="bad">${t.nonFiniteTotal}</span>` : '';
    const [kind, l] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)];
    if (kind === 'clip') {
      const r = t.ranges[l];
      if (!r) return '<span class="muted">—</span>';
      const f = t.clip[l];
      const fl = t.float.includes(l) ? ' <span class="badge">float</span>' : '';
      return `${f !== undefined ? `<span class="${f > 0.01 ? 'bad' : f > 0.001 ? 'meh' : ''}">${pct(f)}</span>` : ''}${fl}<div class="sub nowrap">${fmt3(r[0])} … ${fmt3(r[1])}</div>`;
    }
    if (kind === 'sqnr') {
      const e = t.eval[l];
      return e ? `<span class="${e.sqnrDb < 10 ? 'bad' : e.sqnrDb < 20 ? 'meh' : ''}">${fmt(e.sqnrDb)}</span><div class="sub">cos ${fmt(e.cosine)}</div>` : '';
    }
    if (kind === 'harm') {
      const h = t.harm[l];
      if (!h) return '';
      return `#${h.rank}<div class="sub">${fmt(harmValue(h, 'loss'))}${h.loss === undefined && h.gain === undefined && h.block !== undefined ? ' (block)' : ''}</div>`;
    }
    return '';
  }

  /** @type {Map<string, HTMLTableRowElement>} */
  const rowOf = new Map();
  let sortKey = 'i';
  let sortDir = 1;
  let selected = /** @type {string | null} */ (null);

  function renderTable() {
    const host = /** @type {HTMLElement} */ (document.getElementById('tensor-table'));
    const head = `<thead><tr>${columns.map((c) => `<th data-key="${esc(c.key)}"${c.title ? ` title="${esc(c.title)}"` : ''} class="${c.cls || ''}${c.key === 'hist' ? ' nosort' : ''}">${esc(c.label)}<span class="arrow"></span></th>`).join('')}</tr></thead>`;
    host.innerHTML = `<table class="tensors">${head}<tbody></tbody></table>`;
    const tbody = /** @type {HTMLElement} */ (host.querySelector('tbody'));
    const observer = 'IntersectionObserver' in window ? new IntersectionObserver((entries) => {
      for (const e of entries) if (e.isIntersecting) { drawSpark(/** @type {HTMLElement} */ (e.target)); observer && observer.unobserve(e.target); }
    }, { root: null, rootMargin: '200px' }) : null;
    const frag = document.createDocumentFragment();
    for (const t of tensors) {
      const tr = document.createElement('tr');
      tr.dataset.tensor = t.name;
      if (t.float.length) tr.classList.add('is-float');
      tr.innerHTML = columns.map((c) => `<td class="${c.cls || ''} c-${c.key.replace(/[^a-z]/g, '')}">${cell(t, c.key)}</td>`).join('');
      rowOf.set(t.name, tr);
      frag.appendChild(tr);
      if (observer) observer.observe(tr); else drawSpark(tr);
    }
    tbody.appendChild(frag);
    host.querySelectorAll('th').forEach((th) => th.addEventListener('click', () => {
      const k = /** @type {string} */ (th.dataset.key);
      if (k === 'hist') return;
      if (sortKey === k) sortDir = -sortDir; else { sortKey = k; sortDir = k === 'i' || k === 'name' || k === 'op' ? 1 : -1; }
      sortRows();
    }));
    tbody.addEventListener('click', (ev) => {
      const tr = /** @type {HTMLElement} */ (ev.target).closest('tr');
      if (tr && tr.dataset.tensor) select(tr.dataset.tensor, false);
    });
  }

  /** @param {HTMLElement} tr */
  function drawSpark(tr) {
    const t = byName.get(tr.dataset.tensor || '');
    const host = tr.querySelector('.spark');
    if (!t || !host || host.firstChild) return;
    if (!t.hist || !t.hist.counts.length) {
      host.innerHTML = '<span class="sub">min/max only</span>';
      tr.dataset.drawn = '1';
      return;
    }
    host.innerHTML = C.histogram({ hist: t.hist, ranges: rangesOf(t), log: t.log, width: 120, height: 32, mini: true, title: t.name });
    tr.dataset.drawn = '1';
  }

  function sortRows() {
    const col = columns.find((c) => c.key === sortKey) || columns[0];
    const sorted = tensors.slice().sort((a, b) => {
      const x = col.get(a);
      const y = col.get(b);
      const c = typeof x === 'string' ? String(x).localeCompare(String(y)) : /** @type {number} */ (x) - /** @type {number} */ (y);
      return (Number.isNaN(c) ? 0 : c) * sortDir || a.i - b.i;
    });
    const tbody = /** @type {HTMLElement} */ (document.querySelector('#tensor-table tbody'));
    for (const t of sorted) tbody.appendChild(/** @type {HTMLElement} */ (rowOf.get(t.name)));
    document.querySelectorAll('#tensor-table th').forEach((th) => {
      const a = th.querySelector('.arrow');
      if (a) a.textContent = /** @type {HTMLElement} */ (th).dataset.key === sortKey ? (sortDir > 0 ? ' ▲' : ' ▼') : '';
    });
  }

  function applyFilter() {
    const q = /** @type {HTMLInputElement} */ (document.getElementById('filter')).value.trim().toLowerCase();
    const op = /** @type {HTMLSelectElement} */ (document.getElementById('opfilter')).value;
    const onlyBad = /** @type {HTMLInputElement} */ (document.getElementById('onlyflag')).checked;
    let shown = 0;
    for (const t of tensors) {
      const flagged = t.nonFiniteTotal > 0 || t.float.length > 0 || Object.values(t.clip).some((f) => /** @type {number} */ (f) > 0.01) || (Number.isFinite(t.tail) && t.tail > 8) || Object.values(t.eval).some((e) => /** @type {any} */ (e).sqnrDb < 10);
      const ok = (!q || t.name.toLowerCase().includes(q) || t.op.toLowerCase().includes(q)) && (!op || t.opType === op) && (!onlyBad || flagged);
      /** @type {HTMLElement} */ (rowOf.get(t.name)).style.display = ok ? '' : 'none';
      if (ok) shown++;
    }
    /** @type {HTMLElement} */ (document.getElementById('shown')).textContent = `${shown} of ${tensors.length} tensors`;
  }

  // ---------- detail ----------
  /** @param {string} name @param {boolean} scroll */
  function select(name, scroll) {
    const t = byName.get(name);
    if (!t) return;
    if (selected) { const old = rowOf.get(selected); if (old) old.classList.remove('sel'); }
    selected = name;
    const tr = rowOf.get(name);
    if (tr) {
      tr.classList.add('sel');
      if (tr.style.display === 'none') { /** @type {HTMLInputElement} */ (document.getElementById('filter')).value = ''; /** @type {HTMLSelectElement} */ (document.getElementById('opfilter')).value = ''; /** @type {HTMLInputElement} */ (document.getElementById('onlyflag')).checked = false; applyFilter(); }
      if (scroll) tr.scrollIntoView({ block: 'center' });
    }
    renderDetail(t);
    history.replaceState(null, '', `#t=${encodeURIComponent(name)}`);
  }

  /** @param {any} t */
  function renderDetail(t) {
    const host = /** @type {HTMLElement} */ (document.getElementById('detail'));
    const logBox = /** @type {HTMLInputElement | null} */ (host.querySelector('#logscale'));
    const log = logBox && host.dataset.tensor === t.name ? logBox.checked : t.log;
    host.dataset.tensor = t.name;
    const h = t.hist;
    const rows = [];
    for (const l of labels) {
      const r = t.ranges[l];
      if (!r) continue;
      const f = t.clip[l];
      const e = t.eval[l];
      const hm = t.harm[l];
      const step = (r[1] - r[0]) / 255;
      rows.push(`<tr><td><span class="swatch" style="background:${color.get(l)}"></span>${esc(l)}${t.float.includes(l) ? ' <span class="badge">kept float</span>' : ''}</td><td class="num">[${fmt(r[0])}, ${fmt(r[1])}]</td><td class="num">${fmt(step)}</td><td class="num">${f !== undefined ? pct(f) : ''}</td><td class="num">${e ? `${fmt(e.sqnrDb)} dB / ${fmt(e.cosine)}` : ''}</td><td class="num">${hm ? `#${hm.rank}${hm.loss !== undefined ? ` loss ${fmt(hm.loss)}` : ''}${hm.gain !== undefined ? ` gain ${fmt(hm.gain)}` : ''}${hm.loss === undefined && hm.gain === undefined && hm.block !== undefined ? ` block harm ${fmt(hm.block)}` : ''}` : ''}</td></tr>`);
    }
    const stats = [];
    if (h) {
      const ms = M.meanStd(h);
      stats.push(`values looked at ${h.count.toLocaleString()}${h.values && h.values > h.count ? ` of ${h.values.toLocaleString()} (1 in ${Math.round(h.values / h.count)}; counts are of that sample)` : ''}`);
      if (h.min !== null) stats.push(`min ${fmt(h.min)}, max ${fmt(h.max)}`);
      if (h.counts.length) stats.push(`mean ≈ ${fmt(ms.mean)}, std ≈ ${fmt(ms.std)}`, `p0.01 ${fmt(M.quantile(h, 1e-4))}, p99.99 ${fmt(M.quantile(h, 1 - 1e-4))}`, `bin width ${fmt(h.width)}`);
      stats.push(h.nan + h.posInf + h.negInf ? `<span class="bad">NaN ${h.nan}, +Inf ${h.posInf}, −Inf ${h.negInf}</span>` : 'no NaN/Inf');
    }
    if (t.nonFinite) stats.push(`<span class="bad">${esc(t.nonFinite.by)} counted NaN ${t.nonFinite.nan}, Inf ${t.nonFinite.inf}</span>`);
    const why = [];
    for (const s of data.sensitivities) {
      if (s.kind === 'fallback' && s.exclude.includes(t.name)) {
        const hm = t.harm[s.label];
        why.push(`<b>${esc(s.label)}</b> keeps this tensor in higher precision: ranked #${hm ? hm.rank : '?'} most harmful by ${s.rankedBy}${hm && hm.loss !== undefined ? ` (quantizing it alone costs ${fmt(hm.loss)} ${esc(s.metric)})` : ''}; the ${s.exclude.length} most harmful stay float to reach ${esc(s.metric)} ≥ ${fmt(s.target)}.`);
      }
    }
    host.innerHTML = `<div class="dhead"><div class="tname big">${esc(t.name)}</div><div class="sub">#${t.i} · produced by ${t.op ? `<b>${esc(t.op)}</b> ` : ''}(${esc(t.opType || 'graph input')})${t.dims && t.dims.length ? ` · last batch [${t.dims.join('×')}]` : ''}</div></div>`
      + `<label class="logtoggle"><input type="checkbox" id="logscale" ${log ? 'checked' : ''}> log count axis</label>`
      + C.histogram({ hist: h, ranges: rangesOf(t), log, width: 520, height: 250 + 16 * Object.keys(t.ranges).length })
      + `<div class="stats">${stats.join(' · ')}</div>`
      + (why.length ? `<div class="why">${why.join('<br>')}</div>` : '')
      + (rows.length ? `<table class="grid-table small"><thead><tr><th>collector</th><th>range</th><th>step</th><th>clipped</th><th>INT8 SQNR / cos</th><th>sensitivity</th></tr></thead><tbody>${rows.join('')}</tbody></table>` : '');
    const box = /** @type {HTMLInputElement} */ (host.querySelector('#logscale'));
    box.addEventListener('change', () => renderDetail(t));
  }

  // ---------- page ----------
  function main() {
    document.title = data.title;
    /** @type {HTMLElement} */ (document.getElementById('title')).textContent = data.title;
    /** @type {HTMLElement} */ (document.getElementById('run')).innerHTML = renderRun();
    /** @type {HTMLElement} */ (document.getElementById('findings')).innerHTML = renderFindings();
    /** @type {HTMLElement} */ (document.getElementById('evaluation')).innerHTML = renderEvaluation();
    /** @type {HTMLElement} */ (document.getElementById('sensitivity')).innerHTML = renderSensitivity();
    const ops = [...new Set(tensors.map((t) => t.opType))].sort();
    /** @type {HTMLElement} */ (document.getElementById('opfilter')).innerHTML = `<option value="">all ops</option>${ops.map((o) => `<option>${esc(o)}</option>`).join('')}`;
    renderTable();
    applyFilter();
    sortRows();
    for (const id of ['filter', 'opfilter', 'onlyflag']) /** @type {HTMLElement} */ (document.getElementById(id)).addEventListener('input', applyFilter);
    document.body.addEventListener('click', (ev) => {
      const a = /** @type {HTMLElement} */ (ev.target).closest('[data-tensor]');
      if (a && !a.closest('#tensor-table')) { ev.preventDefault(); select(/** @type {string} */ (/** @type {HTMLElement} */ (a).dataset.tensor), true); }
    });
    const m = /^#t=(.+)$/.exec(location.hash);
    const first = m ? decodeURIComponent(m[1]) : worstTensor();
    if (first) select(first, Boolean(m));
    document.body.dataset.ready = '1';
  }

  /** The tensor to open first: lowest SQNR, else most harmful, else most clipped, else the first. */
  function worstTensor() {
    const l = evalLabels[0];
    if (l) { const t = tensors.filter((x) => x.eval[l]).sort((a, b) => a.eval[l].sqnrDb - b.eval[l].sqnrDb)[0]; if (t) return t.name; }
    const s = harmLabels[0];
    if (s) { const t = tensors.filter((x) => x.harm[s]).sort((a, b) => a.harm[s].rank - b.harm[s].rank)[0]; if (t) return t.name; }
    let best = null;
    let bf = -1;
    for (const t of tensors) for (const f of Object.values(t.clip)) if (/** @type {number} */ (f) > bf) { bf = /** @type {number} */ (f); best = t.name; }
    return best || (tensors[0] && tensors[0].name);
  }

  main();
})();
