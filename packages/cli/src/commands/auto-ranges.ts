import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  chooseRanges,
  inputOptions,
  ConfigError,
  type CalibrationTable,
  type CollectorRef,
  type FeedTensor,
  type Logger,
  type RangeChoiceMeta,
  type ResolvedConfig,
} from '@qcal/core';
import { out, type CliIo } from '../io';
import { openEvalData } from './eval-data';
import { qdqOptions } from './qdq-steps';

/** The collector name that asks for a per-tensor choice among several collectors' ranges. */
export const AUTO_COLLECTOR = 'auto';

/**
 * The collectors `auto` chooses among, the base first (every tensor starts with its range; ties
 * keep it). All calibrate in the same inference pass. mse is left out by default: on the PP-OCRv4
 * detector it costs 3× the others' collector time and won no group the others did not (README,
 * "Which collector? ... the default").
 */
export const AUTO_CANDIDATES: readonly string[] = Object.freeze(['ifmr', 'hfmg', 'percentile']);

/** Calibration samples the choice measures the QDQ model on (the first ones of the calibration data). */
export const RANGE_CHOICE_SAMPLES = 16;

export interface AutoPlan {
  /** The collectors the pass runs: `auto` replaced by its candidates (a candidate named too runs once). */
  refs: CollectorRef[];
  /** Candidate labels, base first (undefined without `auto`). */
  candidates?: string[];
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
  if (i < 0) return { refs: [...refs], named: refs.map(nameOf) };
  const ref = refs[i]!;
  const given = typeof ref === 'string' ? undefined : ref[1];
  let candidates = [...AUTO_CANDIDATES];
  if (given !== undefined) {
    const extra = Object.keys(given).filter((k) => k !== 'collectors');
    const list = (given as { collectors?: unknown }).collectors;
    if (extra.length) throw new ConfigError(`collector "auto": unknown option(s) ${extra.join(', ')}; its only option is "collectors" (the collectors to choose among, base first)`);
    if (list !== undefined && (!Array.isArray(list) || list.length < 1 || !list.every((x) => typeof x === 'string' && x !== AUTO_COLLECTOR))) {
      throw new ConfigError(`collector "auto": option collectors must be a non-empty list of collector names (not "auto"), got ${JSON.stringify(list)}`);
    }
    if (list) candidates = [...new Set(list as string[])];
  }
  const others = refs.filter((_, j) => j !== i);
  const named = others.map(nameOf);
  const added = candidates.filter((c) => !named.includes(c));
  return { refs: [...others, ...added], candidates, named: [AUTO_COLLECTOR, ...named] };
}

async function calibrationFeeds(cfg: ResolvedConfig, numSamples: number): Promise<Record<string, FeedTensor>[]> {
  const data = await openEvalData(cfg.model!, {
    data: cfg.data!,
    ...(cfg.preprocess !== undefined ? { preprocess: cfg.preprocess as never } : {}),
    ...inputOptions(cfg),
    ...(cfg.limits ? { limits: cfg.limits } : {}),
    numSamples,
  }, cfg.cwd);
  const feeds: Record<string, FeedTensor>[] = [];
  for await (const b of data.batches()) feeds.push({ ...b.feeds });
  return feeds;
}

/** A previous run's auto table in `dir` that was chosen from these very tables with the same QDQ options. */
function reusable(dir: string, candidates: readonly string[], tables: Readonly<Record<string, CalibrationTable>>, qdq: object): CalibrationTable | undefined {
  let t: CalibrationTable;
  try { t = JSON.parse(fs.readFileSync(path.join(dir, `${AUTO_COLLECTOR}.table.json`), 'utf8')) as CalibrationTable; } catch { return undefined; }
  const m = t?.meta?.rangeChoice as (RangeChoiceMeta & { fingerprints?: string[] }) | undefined;
  const prints = candidates.map((c) => String(tables[c]?.meta?.runFingerprint ?? ''));
  if (!m || JSON.stringify(m.collectors) !== JSON.stringify(candidates) || JSON.stringify(m.fingerprints) !== JSON.stringify(prints) || JSON.stringify(m.qdq) !== JSON.stringify(qdq)) return undefined;
  return t;
}

/**
 * `auto`: one table whose ranges come, group by group, from the candidate collector that harms
 * the QDQ model's output least on the first calibration samples (chooseRanges), logged and
 * recorded in the table's `meta.rangeChoice`.
 */
export async function chooseAutoTable(cfg: ResolvedConfig, candidates: readonly string[], tables: Readonly<Record<string, CalibrationTable>>, io: CliIo, logger: Logger, reuseDir?: string): Promise<CalibrationTable> {
  const qdq = qdqOptions(cfg);
  const prints = candidates.map((c) => String(tables[c]?.meta?.runFingerprint ?? ''));
  const old = reuseDir ? reusable(reuseDir, candidates, tables, qdq) : undefined;
  if (old) {
    logger.info(`qcal: auto: reusing the range choice in ${path.join(reuseDir!, `${AUTO_COLLECTOR}.table.json`)}`);
    return old;
  }
  const feeds = await calibrationFeeds(cfg, RANGE_CHOICE_SAMPLES);
  const byLabel = Object.fromEntries(candidates.map((c) => [c, tables[c]!]));
  let steps = 0;
  const r = await chooseRanges({
    model: cfg.model!, tables: byLabel, data: feeds, samples: RANGE_CHOICE_SAMPLES, qdq,
    onStep: () => { if (++steps % 10 === 0) logger.info(`qcal: auto: ${steps} configurations measured`); },
  });
  const m = r.meta;
  const table = { ...r.table, meta: { ...r.table.meta, rangeChoice: { ...m, fingerprints: prints } } };
  if (!cfg.quiet) {
    const counts = Object.entries(m.counts).filter(([, n]) => n > 0).map(([l, n]) => `${l} ${n}`).join(', ');
    out(io, `auto: ranges chosen among ${candidates.join(', ')} on ${m.samples} calibration samples in ${(m.ms / 1000).toFixed(1)} s (${m.builds} QDQ builds): ${m.metric} ${fmt(m.score.base)} (${candidates[0]}) -> ${fmt(m.score.chosen)}; tensors: ${counts}`);
    for (const s of m.switched) out(io, `  ${s.group} (${s.tensors} tensors) -> ${s.collector}: ${fmt(s.score)}`);
  }
  return table;
}

const fmt = (x: number): string => (Math.abs(x) < 10 ? x.toFixed(5) : x.toFixed(2));
