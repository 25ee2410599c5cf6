import type { FallbackResult } from './search-fallback';
import type { SensitivityReport } from './measure-sensitivity';

const num = (x: number | undefined, d = 5): string => (x === undefined ? '-' : Number.isNaN(x) ? 'NaN' : !Number.isFinite(x) ? (x > 0 ? 'inf' : '-inf') : x.toFixed(d));

function grid(head: string[], rows: string[][]): string[] {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (c: string[]): string => c.map((x, i) => (i <= 1 ? x.padEnd(w[i]!) : x.padStart(w[i]!))).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)];
}

/** `qcal sensitivity` as text: baselines and the `limit` most harmful tensors (default 30). */
export function formatSensitivity(r: SensitivityReport, opts: { limit?: number } = {}): string {
  const shown = r.layers.slice(0, opts.limit ?? 30);
  return [
    `sensitivity (${r.metric}) over ${r.samples} sample(s), ${r.layers.length} quantized activations, ranked by ${r.rankedBy}:`,
    `  nothing quantized (FP32 check): ${num(r.baseline.noneQuantized)}   all activations quantized: ${num(r.baseline.allQuantized)}`,
    '',
    ...grid(['tensor', 'op', 'quantized alone', 'loss', 'float alone', 'gain'],
      shown.map((l) => [l.tensor, l.opType, num(l.quantizedAlone), num(l.loss), num(l.floatAlone), num(l.gain)])),
    '',
    `cost: ${r.cost.configurations} configurations, ${r.cost.inferences} inferences, ${(r.cost.ms / 1000).toFixed(1)} s`,
  ].join('\n');
}

/** The fallback trade as text: layers kept float vs the metric reached. */
export function formatFallback(r: FallbackResult): string {
  const held = r.samples.heldOut ? `, held-out ${num(r.score.heldOut)} (${r.samples.heldOut} samples)` : '';
  return [
    `FP32 fallback for ${r.metric} >= ${r.target}: ${r.met ? 'met' : 'NOT met'} with ${r.exclude.length} of ${r.quantizable ?? '?'} quantized activations float${r.quantizable ? ` (${((100 * r.exclude.length) / r.quantizable).toFixed(1)} %)` : ''}`,
    `  all quantized: search ${num(r.allQuantized.search)}${r.allQuantized.heldOut !== undefined ? `, held-out ${num(r.allQuantized.heldOut)}` : ''}`,
    `  final:         search ${num(r.score.search)} (${r.samples.search} samples)${held}`,
    ...r.exclude.map((t, i) => `  float ${i + 1}: ${t}`),
    ...(r.int16 ?? []).map((t, i) => `  int16 ${i + 1}: ${t}`),
    '  trade (float tensors → metric):',
    ...r.trials.map((t) => `    ${t.stage.padEnd(7)} ${String(t.floatTensors).padStart(4)} → ${num(t.score)} (${t.on})`),
    `  cost: ${r.cost.builds} QDQ builds, ${(r.cost.ms / 1000).toFixed(1)} s${r.cost.probes ? ` (ranking: ${r.cost.probes} probes, ${((r.cost.rankMs ?? 0) / 1000).toFixed(1)} s)` : r.ranking.length ? '' : ' (no ranking needed)'}`,
  ].join('\n');
}

/** JSON with non-finite numbers as strings ("inf", "NaN"). */
export function sensitivityToJson(value: SensitivityReport | Omit<FallbackResult, 'table'>): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? (Number.isNaN(v) ? 'NaN' : v > 0 ? 'inf' : '-inf') : v), 2);
}
