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
  } else {
    const core = require('@qcal/core');
    const names = spec.collectors;
    const loaded = core.loadCollectors(names, { configDir: process.cwd(), cwd: process.cwd() });
    const prepared = await core.prepareCalibration({
      model,
      data: { data: source, batchSize: 1 },
      collectors: loaded.collectors,
      registry: loaded.registry,
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
