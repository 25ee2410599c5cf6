'use strict';
/**
 * The benchmark's core: for each model, plain FP32 inference of the synthetic samples (the
 * baseline), then a calibration with each collector alone and with all of them in one pass;
 * wall time as a ratio to the baseline, peak RSS, and peak-RSS growth from N to 10·N samples.
 *
 * Every measurement runs in its own child process (clean peak RSS: VmHWM), all in this one run,
 * interleaved with the baseline so that load drifting on a shared machine hits both alike.
 * `isolate: false` runs them in this process instead (for tests: structure, not numbers).
 */
const { spawn } = require('node:child_process');
const path = require('node:path');
const os = require('node:os');
const { COLLECTORS } = require('./models');

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Runs one measurement spec in a fresh node process; resolves with its result (or { error }). */
function runChild(spec, timeoutMs) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'child.js'), JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() || '';
      try {
        const msg = JSON.parse(line);
        resolve(msg.ok ? msg.result : { error: msg.error });
      } catch {
        resolve({ error: signal ? `killed by ${signal} (timeout ${timeoutMs} ms)` : `exit ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}` });
      }
    });
  });
}

/** Why `name` cannot be loaded, or undefined when it can. */
function loadProblem(name) {
  try {
    const core = require('@qcal/core');
    core.loadCollectors([name], { configDir: process.cwd(), cwd: process.cwd() });
    return undefined;
  } catch (e) {
    return String(e.message || e).split('\n')[0];
  }
}

/** Like loadProblem, once per name: records it in `unavailable` and logs it. */
function loadProblemOnce(name, unavailable, log) {
  const problem = loadProblem(name);
  if (problem) {
    unavailable[name] = problem;
    log(`  collector ${name} not available: ${problem}`);
  }
  return problem;
}

/**
 * @param {object} o
 * @param {{kind:'rec'|'det', samples:number, collectors?:string[], extras?:string[]}[]} o.models  which models, how many
 *        samples (N); an entry's own `collectors` replace o.collectors for it (no growth runs), its `extras` o.extras
 * @param {string[]} [o.collectors]   collectors to bench alone (default: every built-in one)
 * @param {boolean} [o.all]           also all of them in one pass (default true)
 * @param {boolean} [o.onlyAll]       only all of them in one pass (the quick CI mode)
 * @param {string[]} [o.growth]       configurations whose peak RSS is also measured at 10·N ('all', 'minmax', …)
 * @param {number} [o.growthFactor]   default 10
 * @param {number} [o.growthSamples]  n for the growth runs (n and 10·n; default N)
 * @param {number} [o.reps]           repetitions of each configuration (ratios use medians; default 1)
 * @param {object} [o.session]        SessionSettings for the calibrations (and threads for the baseline)
 * @param {string[]} [o.extras]       also time 'sensitivity' and/or 'target-cos' (on a minmax table)
 * @param {number} [o.evalSamples]    samples those evaluate (default 2)
 * @param {boolean} [o.isolate]       child process per measurement (default true)
 * @param {(line:string)=>void} [o.log]
 */
async function runBench(o) {
  const log = o.log ?? (() => {});
  // Collectors still being written may not load yet: report them, bench the others.
  const unavailable = {};
  const collectors = (o.collectors ?? COLLECTORS).filter((name) => {
    const problem = loadProblem(name);
    if (problem) {
      unavailable[name] = problem;
      log(`  collector ${name} not available: ${problem}`);
    }
    return !problem;
  });
  const growthFactor = o.growthFactor ?? 10;
  const reps = Math.max(1, o.reps ?? 1);
  const isolate = o.isolate ?? true;
  const timeoutMs = o.timeoutMs ?? 30 * 60 * 1000;
  const run = async (spec) => {
    const full = { ...spec, ...(o.session ? { session: o.session } : {}), ...(o.tensors ? { tensors: o.tensors } : {}), ...(o.sampleValues ? { sampleValues: o.sampleValues } : {}) };
    const t = performance.now();
    const r = isolate ? await runChild(full, timeoutMs) : await require('./measure').measure(full).catch((e) => ({ error: String(e.message || e) }));
    log(`  ${spec.kind} ${spec.label.padEnd(9)} n=${String(spec.samples).padEnd(4)} ${r.error ? `ERROR ${r.error}` : `wall ${(r.wallMs / 1000).toFixed(2)} s, peak RSS ${r.peakRssMB.toFixed(0)} MB`} (${((performance.now() - t) / 1000).toFixed(1)} s)`);
    return r;
  };
  const configsOf = (cols) => (o.onlyAll
    ? [{ label: 'all', collectors: cols }]
    : [...cols.map((c) => ({ label: c, collectors: [c] })), ...(o.all !== false && cols.length > 1 ? [{ label: 'all', collectors: cols }] : [])]);
  const models = [];
  for (const m of o.models) {
    // A model entry may bench its own collectors (e.g. auto-tune on a few detector scenes) and extras.
    const own = m.collectors?.filter((c) => !(c in unavailable) && !loadProblemOnce(c, unavailable, log));
    const configs = configsOf(own ?? collectors);
    const baseline = [];
    const rows = [];
    const base = { kind: m.kind, samples: m.samples };
    baseline.push(await run({ ...base, label: 'baseline', mode: 'baseline' }));
    for (let rep = 0; rep < reps; rep++) {
      for (const c of configs) {
        const r = await run({ ...base, label: c.label, mode: 'calibrate', collectors: c.collectors });
        let row = rows.find((x) => x.label === c.label);
        if (!row) rows.push((row = { label: c.label, collectors: c.collectors, runs: [] }));
        row.runs.push(r);
      }
      baseline.push(await run({ ...base, label: 'baseline', mode: 'baseline' }));
    }
    const okBase = baseline.filter((r) => !r.error);
    const baseWall = okBase.length ? median(okBase.map((r) => r.wallMs)) : NaN;
    const baseInfer = okBase.length ? median(okBase.map((r) => r.inferenceMs)) : NaN;
    const summarize = (label, runs) => {
      const ok = runs.filter((r) => !r.error);
      if (!ok.length) return { label, error: runs[0]?.error ?? 'no run' };
      const pick = (k) => median(ok.map((r) => r[k]));
      return {
        label,
        samples: ok[0].samples,
        wallMs: pick('wallMs'),
        ratio: pick('wallMs') / baseWall,
        /** Steady-state cost per sample vs plain inference: (inference + collect) / baseline inference. */
        passRatio: (pick('inferenceMs') + pick('collectMs')) / baseInfer,
        inferenceMs: pick('inferenceMs'),
        collectMs: pick('collectMs'),
        postCollectMs: pick('postCollectMs'),
        peakRssMB: Math.max(...ok.map((r) => r.peakRssMB)),
        runs: runs.length,
      };
    };
    // Sensitivity and the --target-cos search on a minmax table: the phase's wall time over the
    // baseline (N samples of plain inference), evaluating `evalSamples` samples.
    for (const mode of m.extras ?? o.extras ?? []) {
      const r = await run({ ...base, label: mode, mode, evalSamples: o.evalSamples ?? 2 });
      rows.push({ label: `${mode} (${o.evalSamples ?? 2} eval)`, collectors: [], runs: [r] });
    }
    const results = [summarize('baseline', baseline), ...rows.map((r) => summarize(r.label, r.runs))];
    for (const label of m.collectors ? [] : o.growth ?? []) {
      const row = results.find((r) => r.label === label);
      const conf = label === 'baseline' ? { mode: 'baseline' } : configs.find((c) => c.label === label) && { mode: 'calibrate', collectors: configs.find((c) => c.label === label).collectors };
      if (!row || row.error || !conf) continue;
      // Growth from n to 10·n; n is N unless growthSamples makes it smaller (slow collectors).
      const n = o.growthSamples ?? m.samples;
      const small = n === m.samples ? row : await run({ kind: m.kind, samples: n, label, ...conf });
      const big = small.error ? small : await run({ kind: m.kind, samples: n * growthFactor, label, ...conf });
      row.growth = big.error
        ? { error: big.error }
        : { fromSamples: n, samples: big.samples, fromPeakRssMB: small.peakRssMB, peakRssMB: big.peakRssMB, factor: big.peakRssMB / small.peakRssMB, wallMs: big.wallMs };
    }
    models.push({ kind: m.kind, samples: m.samples, ...(m.collectors ? { collectors: m.collectors } : {}), baseline: { wallMs: baseWall, inferenceMs: baseInfer, perSampleMs: baseInfer / m.samples }, results });
  }
  return {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memGB: Math.round(os.totalmem() / 2 ** 30), loadavg: os.loadavg(), node: process.version },
    options: { collectors, unavailable, reps, growthFactor, growthSamples: o.growthSamples ?? null, isolate, session: o.session ?? null, tensors: o.tensors ?? 'quantized', sampleValues: o.sampleValues ?? 0 },
    models,
  };
}

/** The results as a Markdown table (ratios, not absolute times). */
function formatTable(res) {
  const lines = ['| model | N | config | wall / baseline | pass / inference | peak RSS MB | RSS n → 10·n | growth |', '|---|---|---|---|---|---|---|---|'];
  for (const m of res.models) {
    for (const r of m.results) {
      if (r.error) {
        lines.push(`| ${m.kind} | ${m.samples} | ${r.label} | error: ${r.error} | | | | |`);
        continue;
      }
      const g = r.growth;
      lines.push(`| ${m.kind} | ${m.samples} | ${r.label} | ${r.label === 'baseline' ? '1.00' : r.ratio.toFixed(2)} | ${r.label === 'baseline' ? '1.00' : r.passRatio.toFixed(2)} | ${r.peakRssMB.toFixed(0)} | ${g ? (g.error ? `error: ${g.error}` : `${g.fromPeakRssMB.toFixed(0)} → ${g.peakRssMB.toFixed(0)} (n=${g.fromSamples})`) : ''} | ${g && !g.error ? `${g.factor.toFixed(2)}×` : ''} |`);
    }
  }
  return lines.join('\n');
}

module.exports = { runBench, formatTable, runChild, median };
