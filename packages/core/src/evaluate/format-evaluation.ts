import type { EvaluationReport } from './evaluate-models';
import type { TensorMetrics } from './metrics';

const num = (x: number, digits: number): string => (Number.isNaN(x) ? 'NaN' : x === Infinity ? 'inf' : x.toFixed(digits));

function table(rows: readonly TensorMetrics[], title: string): string[] {
  const head = ['tensor', 'cosine', 'SQNR dB', 'max abs err'];
  const body = rows.map((r) => [r.name, num(r.cosine, 6), num(r.sqnrDb, 2), r.maxAbsError.toPrecision(4)]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [title, line(head), w.map((n) => '-'.repeat(n)).join('  '), ...body.map(line)];
}

/**
 * A readable FP32-vs-INT8 report: outputs, latency and (with per-layer results) the `limit`
 * worst tensors (default 20; Infinity for all).
 */
export function formatEvaluation(report: EvaluationReport, opts: { limit?: number } = {}): string {
  const out = table(report.outputs, `FP32 vs INT8 over ${report.samples} sample(s), model outputs:`);
  if (report.latency) {
    const { fp32Ms, int8Ms, runs } = report.latency;
    out.push('', `latency (mean of ${runs} runs on the first batch): FP32 ${fp32Ms.toFixed(2)} ms, INT8 ${int8Ms.toFixed(2)} ms (${(fp32Ms / int8Ms).toFixed(2)}x)`);
  }
  if (report.layers) {
    const limit = opts.limit ?? 20;
    const shown = report.layers.slice(0, limit);
    out.push('', ...table(shown, `per layer, worst first (${shown.length} of ${report.layers.length}):`));
  }
  if (report.missing?.length) out.push('', `not compared (absent from one model): ${report.missing.length} tensor(s), e.g. ${report.missing.slice(0, 3).join(', ')}`);
  return out.join('\n');
}

/** One line per output for `calibrate --qdq --evaluate`: "<prefix> out: cos …, SQNR … dB, max abs …". */
export function formatEvaluationSummary(report: EvaluationReport, prefix = ''): string {
  const lines = report.outputs.map((o) => `${prefix}${o.name}: cos ${num(o.cosine, 4)}, SQNR ${num(o.sqnrDb, 1)} dB, max abs err ${o.maxAbsError.toPrecision(3)}`);
  if (report.latency) lines.push(`${prefix}latency FP32 ${report.latency.fp32Ms.toFixed(2)} ms, INT8 ${report.latency.int8Ms.toFixed(2)} ms`);
  if (report.layers?.[0]) lines.push(`${prefix}worst layer: ${report.layers[0].name} (cos ${num(report.layers[0].cosine, 4)})`);
  return lines.join('\n');
}

/** The report as JSON, with non-finite numbers as strings ("inf", "NaN") rather than null. */
export function evaluationToJson(report: EvaluationReport): string {
  return JSON.stringify(report, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? (Number.isNaN(v) ? 'NaN' : v > 0 ? 'inf' : '-inf') : v), 2);
}
