import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  chooseRanges,
  ConfigError,
  messageOf,
  type CalibrationTable,
  type CollectorRef,
  type Logger,
  type RangeChoiceMeta,
  type ResolvedConfig,
} from '@qcal/core';
import { out, type CliIo } from '../io';
import { calibrationFeeds, qdqOptions } from './qdq-steps';

/** The collector name that asks for a per-tensor choice among several collectors' ranges. */
export const AUTO_COLLECTOR = 'auto';

/**
 * The collectors `auto` chooses among, the base first (every tensor starts with its range; ties
 * keep it). All calibrate in the same inference pass. mse is left out by default: on the PP-OCRv4
 * detector it costs 3× the others' collector time and won no group the others did not (README,
 * "Which collector? ... the default").
 */
export const AUTO_CANDIDATES: readonly string[] = Object.freeze(['ifmr', 'hfmg', 'percentile']);

/**
 * Runs of the graph order the choice tries after the op-type groups. On held-out data of unseen
 * seeds (README; measured before fuse-activations took per-channel affines in) the op-type groups alone carried most of the gain (detector cosine 0.9789 ->
 * 0.9867, recognizer output cosine 0.960 -> 0.970, agreement with FP32 0.959 -> 0.960); 6 blocks
 * added 0.0006 on the detector and took the recognizer's agreement to 0.965 (output cosine 0.974)
 * for about 18 more builds.
 */
export const AUTO_BLOCKS = 6;

/** Calibration samples the choice measures the QDQ model on (the first ones of the calibration data). */
export const RANGE_CHOICE_SAMPLES = 16;

export interface AutoPlan {
  /** The collectors the pass runs: `auto` replaced by its candidates (a candidate named too runs once). */
  refs: CollectorRef[];
  /** Candidate labels, base first (undefined without `auto`). */
  candidates?: string[];
  /** Blocks of graph order tried after the op-type groups (0: none; default AUTO_BLOCKS). */
  blocks: number;
  /** Labels the user named (their tables get QDQ models, evaluations, searches); `auto` included. */
  named: string[];
}

const nameOf = (ref: CollectorRef): string => (typeof ref === 'string' ? ref : ref[0]);

/**
 * Expands `auto` (a name in `collectors`, or `["auto", { "collectors": [...] }]` for other
 * candidates) into the collectors it chooses among.
 */
export function planAuto(refs: readonly CollectorRef[]): AutoPlan {
  const i = refs.findIndex((r) => nameOf(r) === AUTO_COLLECTOR);
  if (i < 0) return { refs: [...refs], named: refs.map(nameOf), blocks: AUTO_BLOCKS };
  const ref = refs[i]!;
  const given = typeof ref === 'string' ? undefined : ref[1];
  let candidates = [...AUTO_CANDIDATES];
  let blocks = AUTO_BLOCKS;
  if (given !== undefined) {
    const extra = Object.keys(given).filter((k) => k !== 'collectors' && k !== 'blocks');
    const list = (given as { collectors?: unknown }).collectors;
    const b = (given as { blocks?: unknown }).blocks;
    if (extra.length) throw new ConfigError(`collector "auto": unknown option(s) ${extra.join(', ')}; its options are "collectors" (the collectors to choose among, base first) and "blocks" (runs of the graph order tried after the op-type groups, default ${AUTO_BLOCKS}; 0: op-type groups only)`);
    if (b !== undefined && !(typeof b === 'number' && Number.isInteger(b) && b >= 0 && b <= 1000)) throw new ConfigError(`collector "auto": option blocks must be an integer in [0, 1000], got ${JSON.stringify(b)}`);
    if (typeof b === 'number') blocks = b;
    if (list !== undefined && (!Array.isArray(list) || list.length < 1 || !list.every((x) => typeof x === 'string' && x !== AUTO_COLLECTOR))) {
      throw new ConfigError(`collector "auto": option collectors must be a non-empty list of collector names (not "auto"), got ${JSON.stringify(list)}`);
    }
    if (list) candidates = [...new Set(list as string[])];
  }
  const others = refs.filter((_, j) => j !== i);
  const named = others.map(nameOf);
  const added = candidates.filter((c) => !named.includes(c));
  return { refs: [...others, ...added], candidates, named: [AUTO_COLLECTOR, ...named], blocks };
}

/** A previous run's auto table in `dir` that was chosen from these very tables with the same QDQ options. */
function reusable(dir: string, candidates: readonly string[], tables: Readonly<Record<string, CalibrationTable>>, qdq: object, blocks: number): CalibrationTable | undefined {
  let t: CalibrationTable;
  try { t = JSON.parse(fs.readFileSync(path.join(dir, `${AUTO_COLLECTOR}.table.json`), 'utf8')) as CalibrationTable; } catch { return undefined; }
  const m = t?.meta?.rangeChoice as (RangeChoiceMeta & { fingerprints?: string[]; blocks?: number }) | undefined;
  const prints = candidates.map((c) => String(tables[c]?.meta?.runFingerprint ?? ''));
  if (!m || JSON.stringify(m.collectors) !== JSON.stringify(candidates) || JSON.stringify(m.fingerprints) !== JSON.stringify(prints) || JSON.stringify(m.qdq) !== JSON.stringify(qdq) || (m.blocks ?? 0) !== blocks) return undefined;
  return t;
}

/**
 * `auto`: one table whose ranges come, group by group, from the candidate collector that harms
 * the QDQ model's output least on the first calibration samples (chooseRanges), logged and
 * recorded in the table's `meta.rangeChoice`.
 */
export async function chooseAutoTable(cfg: ResolvedConfig, candidates: readonly string[], blocks: number, tables: Readonly<Record<string, CalibrationTable>>, io: CliIo, logger: Logger, reuseDir?: string): Promise<CalibrationTable> {
  const qdq = qdqOptions(cfg);
  const prints = candidates.map((c) => String(tables[c]?.meta?.runFingerprint ?? ''));
  const old = reuseDir ? reusable(reuseDir, candidates, tables, qdq, blocks) : undefined;
  if (old) {
    logger.info(`qcal: auto: reusing the range choice in ${path.join(reuseDir!, `${AUTO_COLLECTOR}.table.json`)}`);
    return old;
  }
  const feeds = await calibrationFeeds(cfg, RANGE_CHOICE_SAMPLES);
  const byLabel = Object.fromEntries(candidates.map((c) => [c, tables[c]!]));
  let steps = 0;
  let r: Awaited<ReturnType<typeof chooseRanges>>;
  try {
    r = await chooseRanges({
      model: cfg.model!, tables: byLabel, data: feeds, samples: RANGE_CHOICE_SAMPLES, qdq,
      stages: blocks > 0 ? ['op-type', 'blocks'] : ['op-type'], blocks,
      onStep: () => { if (++steps % 10 === 0) logger.info(`qcal: auto: ${steps} configurations measured`); },
    });
  } catch (err) {
    // The choice is an optimisation: a model it cannot score (non-float outputs, a metric that
    // fails) still gets the base collector's table, said so loudly.
    const base = candidates[0]!;
    logger.warn(`auto: could not measure the range choice (${messageOf(err)}); using ${base}'s ranges for every tensor`);
    return { ...tables[base]!, collector: AUTO_COLLECTOR, options: { collectors: [...candidates] }, meta: { ...tables[base]!.meta, rangeChoice: { collectors: [...candidates], error: messageOf(err), fingerprints: prints, qdq } } };
  }
  const m = r.meta;
  const table = { ...r.table, meta: { ...r.table.meta, rangeChoice: { ...m, fingerprints: prints, blocks } } };
  if (!cfg.quiet) {
    const counts = Object.entries(m.counts).filter(([, n]) => n > 0).map(([l, n]) => `${l} ${n}`).join(', ');
    out(io, `auto: ranges chosen among ${candidates.join(', ')} on ${m.samples} calibration samples in ${(m.ms / 1000).toFixed(1)} s (${m.builds} QDQ builds): ${m.metric} ${fmt(m.score.base)} (${candidates[0]}) -> ${fmt(m.score.chosen)}; tensors: ${counts}`);
    for (const s of m.switched) out(io, `  ${s.group} (${s.tensors} tensors) -> ${s.collector}: ${fmt(s.score)}`);
  }
  return table;
}

const fmt = (x: number): string => (Math.abs(x) < 10 ? x.toFixed(5) : x.toFixed(2));
