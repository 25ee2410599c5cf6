'use strict';
/**
 * One measurement, in the current process: either plain FP32 inference of the synthetic samples
 * with onnxruntime-node (the baseline) or a qcal calibration of the same samples through the
 * library API (prepareCalibration → collectPass → finishCalibration, as `qcal calibrate` does).
 * Wall times exclude the generation of the synthetic inputs (measured and subtracted).
 */
const { syntheticSource } = require('./data');
const { modelPath } = require('./models');

/** Peak resident set size of this process so far, in MB (Linux VmHWM; resourceUsage elsewhere). */
function peakRssMB() {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(require('node:fs').readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch { /* not Linux */ }
  return process.resourceUsage().maxRSS / 1024;
}

/**
 * @param {{ kind: 'rec'|'det', samples: number, mode: 'baseline'|'calibrate', collectors?: string[],
 *           session?: object, seed?: number, core?: object }} spec
 */
async function measure(spec) {
  const model = modelPath(spec.kind);
  const { source, stats } = syntheticSource(spec.kind, spec.samples, 'x', spec.seed ?? 1);
  const t0 = performance.now();
  let detail;
  if (spec.mode === 'baseline') {
    const ort = require('onnxruntime-node');
    const session = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'all', executionMode: 'sequential', ...(spec.session?.intraOpNumThreads ? { intraOpNumThreads: spec.session.intraOpNumThreads } : {}) });
    const tSession = performance.now() - t0;
    let inferenceMs = 0;
    let n = 0;
    for await (const feeds of source) {
      const f = feeds.x;
      const ti = performance.now();
      const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', f.data, f.dims) });
      inferenceMs += performance.now() - ti;
      void out;
      n++;
    }
    await session.release();
    detail = { sessionMs: tSession, inferenceMs, collectMs: 0, postCollectMs: 0, samples: n };
  } else if (spec.mode === 'sensitivity' || spec.mode === 'target-cos') {
    // The minmax table first (not counted), then the phase on `evalSamples` other samples.
    const core = require('@qcal/core');
    const loaded = core.loadCollectors(['minmax'], { configDir: process.cwd(), cwd: process.cwd() });
    const res = await core.calibrate({ model, data: { data: source, batchSize: 1 }, collectors: loaded.collectors, registry: loaded.registry, ...(spec.session ? { session: spec.session } : {}) });
    const table = res.results[0].table;
    const n = spec.evalSamples ?? 2;
    const evalData = syntheticSource(spec.kind, 2 * n, 'x', (spec.seed ?? 1) + 1).source;
    const t1 = performance.now();
    let trials = 0;
    if (spec.mode === 'sensitivity') {
      const rep = await core.measureSensitivity({ model, table, data: evalData, evalSamples: n, ...(spec.session ? { session: spec.session } : {}) });
      trials = rep.layers?.length ?? 0;
    } else {
      const r = await core.searchFallback({ model, table, data: evalData, evalSamples: n, heldOutSamples: n, target: spec.target ?? 0.99, onTrial: () => { trials++; }, ...(spec.session ? { session: spec.session } : {}) });
      void r;
    }
    const phaseMs = performance.now() - t1;
    return { sessionMs: undefined, inferenceMs: 0, collectMs: phaseMs, postCollectMs: 0, samples: n, trials, wallMs: phaseMs, genMs: stats.genMs, peakRssMB: peakRssMB() };
  } else {
    const core = require('@qcal/core');
    const names = spec.collectors;
    const loaded = core.loadCollectors(names, { configDir: process.cwd(), cwd: process.cwd() });
    const prepared = await core.prepareCalibration({
      model,
      data: { data: source, batchSize: 1 },
      collectors: loaded.collectors,
      registry: loaded.registry,
      ...(spec.tensors ? { tensors: spec.tensors } : {}),
      ...(spec.sampleValues ? { sampleValues: spec.sampleValues } : {}),
      ...(spec.session ? { session: spec.session } : {}),
    });
    const tp = performance.now();
    const { instances, counts } = await core.collectPass(prepared);
    const result = await core.finishCalibration(prepared, instances, counts, tp);
    detail = {
      sessionMs: undefined,
      inferenceMs: result.timings.inferenceMs,
      collectMs: result.timings.collectMs,
      postCollectMs: result.timings.postCollectMs,
      samples: result.samples,
      tensors: Object.fromEntries(result.results.map((r) => [r.label, Object.keys(r.table.tensors).length])),
      ...(spec.keepTables ? { tables: Object.fromEntries(result.results.map((r) => [r.label, r.table.tensors])) } : {}),
    };
  }
  const wallMs = performance.now() - t0 - stats.genMs;
  return { ...detail, wallMs, genMs: stats.genMs, peakRssMB: peakRssMB() };
}

module.exports = { measure, peakRssMB };
