import { encodeModel } from '../onnx/model';
import { indexGraph } from '../onnx/graph-index';
import type { PluginSearch } from '../plugins/resolve-plugin';
import { buildQdqModel, type QdqOptions } from '../qdq/build-qdq';
import { createSession, type SessionSettings } from '../runner/session';
import type { CalibrationTable } from '../table';
import { applyFallback, tableWithout } from './apply-fallback';
import { collectEvalSet, runEvalSet, splitEvalSet, type EvalItem, type EvalSet } from './eval-set';
import { loadFidelityMetric, type FidelityMetric, type ModelOutputs } from './fidelity-metric';
import { rankLayers, type LayerSensitivity, type SensitivityReport } from './measure-sensitivity';
import { readModelInput, type ModelInput } from './model-input';
import { createSensitivityProbe } from './sensitivity-probe';
import { createBuildProbe, type TensorProbe } from './build-probe';
import { rankTensors, type RankOptions } from './rank-tensors';

export interface FallbackOptions {
  model: ModelInput;
  table: CalibrationTable;
  /** Data for ranking and search: its first `evalSamples` samples. */
  data: Iterable<EvalItem> | AsyncIterable<EvalItem>;
  /**
   * Held-out data the result must hold on (its first `heldOutSamples`, default evalSamples).
   * Default: the `heldOutSamples` samples of `data` that follow the search samples.
   */
  evalData?: Iterable<EvalItem> | AsyncIterable<EvalItem> | (() => Iterable<EvalItem> | AsyncIterable<EvalItem>);
  evalSamples?: number;
  heldOutSamples?: number;
  /** `cosine` (default), `sqnr`, a metric module, or a metric object; higher is better. */
  metric?: string | FidelityMetric;
  /**
   * Metric the ranking probes use (default: `metric`). A discrete user metric (characters read
   * right, top-1 agreement) gives no signal on the one or two samples a probe runs — every
   * configuration reads them all right — so rank by `cosine` and judge the target by `metric`.
   */
  rankMetric?: string | FidelityMetric;
  /**
   * Mixed precision: once the tensors to keep out of INT8 are found, try them as 16-bit
   * activations (QdqOptions.int16, 8-bit weights) instead of FP32 — one build, kept when the
   * target still holds on the held-out samples. Default false: on onnxruntime's CPU provider
   * 16-bit Q/DQ runs as float simulation (slower than FP32: README); for 16-bit capable targets.
   */
  int16?: boolean;
  search?: PluginSearch;
  /** The metric value to reach (e.g. 0.99 cosine). */
  target: number;
  /** Keep at most this many tensors float (default: no limit). */
  maxFloatLayers?: number;
  /** A ranking already measured (`qcal sensitivity` output) instead of measuring one. */
  sensitivity?: SensitivityReport;
  /** Rank by the loss of quantizing a tensor alone (default) or the gain of keeping it alone float. */
  rankBy?: 'loss' | 'gain';
  /** Rank in blocks of this many tensors first, refining only harmful blocks (see rankTensors; default 1: every tensor). */
  groupSize?: number;
  /**
   * Samples the ranking probes run on (the first ones of the search samples; default all of
   * them). The prefix search and the held-out check still use every sample, so a coarser ranking
   * costs builds, not fidelity.
   */
  rankSamples?: number;
  /**
   * What scores the ranking's configurations: `build` (default) a real QDQ model per configuration
   * (exactly what will ship; cheap per sample), `switch` one switch model for all of them (one
   * session, but each inference simulates every Q/DQ pair in float: ~10× a QDQ inference).
   */
  probe?: 'build' | 'switch';
  /** Instead of groupSize: about this many blocks (groupSize = ceil(tensors / rankBlocks)). */
  rankBlocks?: number;
  /** How harmful blocks are refined (see RankOptions.refine; default `members`). */
  refine?: RankOptions['refine'];
  /** Refine at most this many blocks (see RankOptions.maxRefinedBlocks). */
  maxRefinedBlocks?: number;
  /** After the prefix search, try re-quantizing each float tensor, least harmful first (default true; up to 16). */
  prune?: boolean;
  /** Try re-quantizing at most this many of the float tensors (default 16; each try is one build). */
  pruneLimit?: number;
  qdq?: QdqOptions;
  session?: SessionSettings;
  /** Called after every measured configuration. */
  onTrial?: (t: FallbackTrial) => void;
  /** Called during the ranking (one switch-model configuration each) with (done, total). */
  onRankProgress?: (done: number, total: number) => void;
}

export interface FallbackTrial {
  stage: 'rank' | 'all' | 'grow' | 'bisect' | 'prune' | 'verify' | 'int16';
  floatTensors: number;
  score: number;
  on: 'search' | 'held-out';
}

export interface FallbackResult {
  metric: string;
  target: number;
  /** Whether the target holds (on the held-out samples where there are any). */
  met: boolean;
  /** Tensors kept float, most harmful first. Same inputs give the same list. */
  exclude: string[];
  /** Tensors moved to 16-bit activations instead (with `int16`; in the table's `meta.int16`). */
  int16: string[];
  /** Activations the fully quantized model quantizes (the denominator of "how many kept float"). */
  quantizable: number;
  /** Metric of the final model / the fully quantized one, on the search and held-out samples. */
  score: { search: number; heldOut?: number };
  allQuantized: { search: number; heldOut?: number };
  samples: { search: number; heldOut: number };
  ranking: LayerSensitivity[];
  trials: FallbackTrial[];
  /** The input table with the exclusions applied (see applyFallback). */
  table: CalibrationTable;
  /** builds: real QDQ models built (ranking probes included); rankMs: the ranking's share of ms. */
  cost: { builds: number; ms: number; rankMs: number; probes: number };
}

/** Smallest k in (lo, hi] with pass(k), given pass(hi) (and assuming monotonicity); lo fails. */
async function bisect(lo: number, hi: number, pass: (k: number) => Promise<boolean>): Promise<number> {
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (await pass(mid)) hi = mid; else lo = mid;
  }
  return hi;
}

/**
 * Accuracy-driven FP32 fallback (`qcal calibrate --qdq --target-cos C [--max-float-layers K]`):
 * ranks the quantized activations by sensitivity (one switch-model session), then keeps the
 * `k` most harmful float for the smallest k whose real QDQ model (built by the QDQ writer from
 * the table without them) reaches `target` — k grows in doubling steps and is bisected, so the
 * number of QDQ builds is logarithmic in the number of tensors — then tries to re-quantize each
 * one (pruning), and checks the result on held-out samples; when it fails there, k grows again,
 * judged on the held-out samples. Deterministic: ranking ties go in graph order.
 */
export async function searchFallback(opts: FallbackOptions): Promise<FallbackResult> {
  const t0 = performance.now();
  const src = readModelInput(opts.model);
  const metric = loadFidelityMetric(opts.metric ?? 'cosine', opts.search);
  const evalSamples = opts.evalSamples ?? 8;
  const heldSamples = opts.heldOutSamples ?? evalSamples;
  const heldSource = typeof opts.evalData === 'function' ? opts.evalData() : opts.evalData;
  let searchSet: EvalSet, heldSet: EvalSet;
  if (heldSource) {
    searchSet = await collectEvalSet(opts.data, evalSamples);
    heldSet = await collectEvalSet(heldSource, heldSamples);
  } else {
    // No held-out source: the samples of `data` after the search samples.
    [searchSet, heldSet] = splitEvalSet(await collectEvalSet(opts.data, evalSamples + heldSamples), evalSamples);
  }
  const outputs = src.model.graph!.output.map((o) => o.name);
  const trials: FallbackTrial[] = [];
  const trial = (t: FallbackTrial): void => { trials.push(t); opts.onTrial?.(t); };

  const fp = await createSession(src.bytes, src.where, opts.session);
  let refSearch: ModelOutputs[], refHeld: ModelOutputs[];
  try {
    refSearch = await runEvalSet(fp, searchSet, outputs, src.where);
    refHeld = await runEvalSet(fp, heldSet, outputs, src.where);
  } finally { await fp.release(); }

  let ranked: string[] = [];
  let kMax = 0;
  // Real QDQ builds, cached by exclusion set.
  let builds = 0, lastQuantized = 0;
  const cache = new Map<string, { search: number; held?: number }>();
  const measure = async (exclude: readonly string[], held: boolean, wide: readonly string[] = []): Promise<{ search: number; held?: number }> => {
    const key = [...exclude].sort().join('\u0000') + (wide.length ? `|16:${[...wide].sort().join('\u0000')}` : '');
    const hit = cache.get(key);
    if (hit && (!held || hit.held !== undefined)) return hit;
    const built = buildQdqModel(src.model, tableWithout(opts.table, exclude), { ...opts.qdq, ...(wide.length ? { int16: wide } : {}) });
    const q = built.model;
    lastQuantized = built.report.tensors.length;
    builds++;
    const s = await createSession(encodeModel(q), `${src.where} (QDQ, ${exclude.length} float)`, opts.session);
    try {
      const r = hit ?? { search: metric.metric(refSearch, await runEvalSet(s, searchSet, outputs, 'QDQ model')) };
      if (held && heldSet.batches.length) r.held = metric.metric(refHeld, await runEvalSet(s, heldSet, outputs, 'QDQ model'));
      cache.set(key, r);
      return r;
    } finally { await s.release(); }
  };
  const ok = (x: number | undefined): boolean => x !== undefined && !Number.isNaN(x) && x >= opts.target;

  // Smallest prefix of the ranking that passes, judged by `judge` (search or held-out samples).
  const prefixSearch = async (from: number, onHeld: boolean): Promise<{ k: number; met: boolean }> => {
    const pass = async (k: number, stage: FallbackTrial['stage']): Promise<boolean> => {
      const r = await measure(ranked.slice(0, k), onHeld);
      const v = onHeld ? r.held : r.search;
      trial({ stage, floatTensors: k, score: v ?? NaN, on: onHeld ? 'held-out' : 'search' });
      return ok(v);
    };
    if (await pass(from, 'grow')) return { k: from, met: true };
    let lo = from, step = 1;
    while (lo < kMax) {
      const hi = Math.min(kMax, lo + step);
      if (await pass(hi, 'grow')) return { k: await bisect(lo, hi, (k) => pass(k, 'bisect')), met: true };
      lo = hi; step *= 2;
    }
    return { k: kMax, met: false };
  };

  const all = await measure([], true);
  const quantizable = lastQuantized;
  trial({ stage: 'all', floatTensors: 0, score: all.search, on: 'search' });
  if (heldSet.batches.length) trial({ stage: 'all', floatTensors: 0, score: all.held!, on: 'held-out' });
  // Nothing to search when the fully quantized model already meets the target where the result is
  // judged: on the held-out samples when there are any (as `met` is), else on the search samples.
  if (heldSet.batches.length ? ok(all.held) : ok(all.search)) return finish([], all, all, [], 0, 0);
  // Ranking.
  const r0 = performance.now();
  let ranking: LayerSensitivity[];
  let probes = 0;
  const rankBy = opts.rankBy ?? 'loss';
  if (opts.sensitivity) ranking = rankLayers(opts.sensitivity.layers, opts.sensitivity.rankedBy);
  else {
    const rankSet = opts.rankSamples !== undefined && opts.rankSamples < searchSet.samples ? splitEvalSet(searchSet, Math.max(1, opts.rankSamples))[0] : searchSet;
    const rankMetric = opts.rankMetric ? loadFidelityMetric(opts.rankMetric, opts.search) : metric;
    const probeArgs = { ...src, table: opts.table, evalSet: rankSet, metric: rankMetric, qdq: opts.qdq, session: opts.session, reference: refSearch.slice(0, rankSet.batches.length) };
    const probe: TensorProbe = opts.probe === 'switch'
      ? Object.assign(await createSensitivityProbe(probeArgs), { builds: 0 })
      : await createBuildProbe(probeArgs);
    let calls = 0;
    const counted: Pick<TensorProbe, 'switches' | 'score'> = { switches: probe.switches, score: (on) => { calls++; return probe.score(on); } };
    try {
      ranking = await rankTensors(counted, indexGraph(src.model), {
        by: rankBy, groupSize: opts.rankBlocks ? Math.ceil(probe.switches.length / opts.rankBlocks) : opts.groupSize, onProgress: opts.onRankProgress,
        ...(opts.refine ? { refine: opts.refine } : {}), ...(opts.maxRefinedBlocks !== undefined ? { maxRefinedBlocks: opts.maxRefinedBlocks } : {}),
      });
    } finally { await probe.release(); }
    probes = calls;
    builds += probe.builds;
  }

  const rankMs = performance.now() - r0;
  ranked = ranking.map((l) => l.tensor).filter((t) => t in opts.table.tensors);
  kMax = Math.min(ranked.length, opts.maxFloatLayers ?? Infinity);
  let { k, met } = await prefixSearch(0, false);
  let exclude = ranked.slice(0, k);
  if (met && (opts.prune ?? true) && exclude.length > 1 && exclude.length <= 16) {
    for (const t of [...exclude].reverse().slice(0, opts.pruneLimit ?? 16)) {
      const without = exclude.filter((x) => x !== t);
      const r = await measure(without, false);
      trial({ stage: 'prune', floatTensors: without.length, score: r.search, on: 'search' });
      if (ok(r.search)) exclude = without;
    }
  }
  let final = await measure(exclude, true);
  if (heldSet.batches.length) {
    trial({ stage: 'verify', floatTensors: exclude.length, score: final.held!, on: 'held-out' });
    if (!ok(final.held) && met && k < kMax) {
      // Not robust on unseen samples: grow the prefix again, judged on the held-out samples.
      const again = await prefixSearch(k + 1, true);
      met = again.met;
      exclude = ranked.slice(0, again.k);
      final = await measure(exclude, true);
    }
  }
  let int16: string[] = [];
  if (opts.int16 && exclude.length && (heldSet.batches.length ? ok(final.held) : ok(final.search))) {
    const wide = await measure([], true, exclude);
    trial({ stage: 'int16', floatTensors: 0, score: heldSet.batches.length ? wide.held! : wide.search, on: heldSet.batches.length ? 'held-out' : 'search' });
    if (heldSet.batches.length ? ok(wide.held) : ok(wide.search)) { int16 = exclude; exclude = []; final = wide; }
  }
  return finish(exclude, final, all, ranking, rankMs, probes, int16);

  function finish(exclude: string[], final: { search: number; held?: number }, all: { search: number; held?: number }, ranking: LayerSensitivity[], rankMs: number, probes: number, int16: string[] = []): FallbackResult {
    const met = heldSet.batches.length ? ok(final.held) : ok(final.search);
    const reached = final.held ?? final.search;
    return {
      metric: metric.name,
      target: opts.target,
      met,
      exclude,
      int16,
      quantizable,
      score: { search: final.search, ...(final.held !== undefined ? { heldOut: final.held } : {}) },
      allQuantized: { search: all.search, ...(all.held !== undefined ? { heldOut: all.held } : {}) },
      samples: { search: searchSet.samples, heldOut: heldSet.samples },
      ranking,
      trials,
      table: withInt16(applyFallback(opts.table, exclude, { metric: metric.name, target: opts.target, reached }), int16),
      cost: { builds, ms: performance.now() - t0, rankMs, probes },
    };
  }
}

/** The table with `int16` listed in `meta.int16` (the QDQ writer quantizes those with 16 bits). */
function withInt16(table: CalibrationTable, int16: readonly string[]): CalibrationTable {
  return int16.length ? { ...table, meta: { ...table.meta, int16: [...int16] } } : table;
}
