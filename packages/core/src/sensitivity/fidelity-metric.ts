import * as path from 'node:path';
import { PluginError, messageOf } from '../errors';
import { ctcCharAccuracyMetric } from './ctc-metric';
import { notFoundMessage, tryResolvePlugin, type PluginSearch } from '../plugins/resolve-plugin';

/** One model output of one inference, as metrics see it (a copy: safe to keep). */
export interface OutputTensor { readonly data: Float32Array; readonly dims: readonly number[] }
/** The outputs of one inference (one evaluation batch) by output name. */
export type ModelOutputs = Readonly<Record<string, OutputTensor>>;

/**
 * How close an INT8 model's outputs are to the FP32 model's over an evaluation set: higher is
 * better. `fp32` and `int8` hold one entry per evaluation batch, in the same order. A user metric
 * (e.g. OCR character accuracy, decoding both outputs) is a module exporting `name` and
 * `metric(fp32Outputs, int8Outputs)`; see {@link loadFidelityMetric}.
 */
export interface FidelityMetric {
  readonly name: string;
  metric(fp32: readonly ModelOutputs[], int8: readonly ModelOutputs[]): number;
}

function forEachOutput(fp32: readonly ModelOutputs[], int8: readonly ModelOutputs[], fn: (name: string, a: Float32Array, b: Float32Array) => void): string[] {
  const names = Object.keys(fp32[0] ?? {});
  for (let i = 0; i < fp32.length; i++) {
    for (const n of names) {
      const a = fp32[i]![n]!.data, b = int8[i]?.[n]?.data;
      if (!b || b.length !== a.length) throw new RangeError(`output "${n}" of batch ${i + 1}: INT8 has ${b?.length ?? 0} values, FP32 ${a.length}`);
      fn(n, a, b);
    }
  }
  return names;
}

/**
 * Cosine similarity of FP32 and INT8 outputs over all elements of all batches, per output; the
 * lowest over the outputs. Two all-zero outputs score 1, one all-zero output 0; NaN propagates.
 */
export const cosineMetric: FidelityMetric = {
  name: 'cosine',
  metric(fp32, int8) {
    const acc = new Map<string, [number, number, number]>();
    const names = forEachOutput(fp32, int8, (n, a, b) => {
      const s = acc.get(n) ?? [0, 0, 0];
      let d = 0, x = 0, y = 0;
      for (let i = 0; i < a.length; i++) { const p = a[i]!, q = b[i]!; d += p * q; x += p * p; y += q * q; }
      s[0] += d; s[1] += x; s[2] += y;
      acc.set(n, s);
    });
    let worst = Infinity;
    for (const n of names) {
      const [d, x, y] = acc.get(n)!;
      const c = x === 0 && y === 0 ? 1 : x === 0 || y === 0 ? 0 : d / Math.sqrt(x * y);
      worst = Number.isNaN(c) || Number.isNaN(worst) ? NaN : Math.min(worst, c);
    }
    return worst;
  },
};

/** SQNR in dB, 10·log10(Σ fp32² / Σ (fp32 − int8)²) over all batches, per output; the lowest. +Infinity when exact. */
export const sqnrMetric: FidelityMetric = {
  name: 'sqnr',
  metric(fp32, int8) {
    const acc = new Map<string, [number, number]>();
    const names = forEachOutput(fp32, int8, (n, a, b) => {
      const s = acc.get(n) ?? [0, 0];
      for (let i = 0; i < a.length; i++) { const p = a[i]!, e = p - b[i]!; s[0] += p * p; s[1] += e * e; }
      acc.set(n, s);
    });
    let worst = Infinity;
    for (const n of names) {
      const [sig, err] = acc.get(n)!;
      const db = err === 0 ? Infinity : 10 * Math.log10(sig / err);
      worst = Number.isNaN(db) || Number.isNaN(worst) ? NaN : Math.min(worst, db);
    }
    return worst;
  },
};

/** Built-in metrics by name. */
export const BUILTIN_METRICS: Readonly<Record<string, FidelityMetric>> = { cosine: cosineMetric, sqnr: sqnrMetric, 'ctc-char-accuracy': ctcCharAccuracyMetric };

/**
 * A metric by built-in name (`cosine`, `sqnr`) or module specifier (a path, relative to the config
 * file's folder first, then the working directory, or a package name). The module exports
 * `metric(fp32Outputs, int8Outputs) → number` (higher is better) and optionally `name` (default:
 * the file name); a default export of that shape is accepted too.
 */
export function loadFidelityMetric(spec: string | FidelityMetric, search: PluginSearch = { configDir: process.cwd(), cwd: process.cwd() }): FidelityMetric {
  if (typeof spec !== 'string') return checkMetric(spec, spec.name ?? 'metric');
  const builtin = BUILTIN_METRICS[spec];
  if (builtin) return builtin;
  const file = tryResolvePlugin(spec, search);
  if (!file) throw new PluginError(spec, `${notFoundMessage(spec, search, 'metric')}; built-in metrics: ${Object.keys(BUILTIN_METRICS).join(', ')}`);
  let mod: unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require(file);
  } catch (err) {
    throw new PluginError(spec, `metric module ${file} failed to load: ${messageOf(err)}`, { cause: err });
  }
  let m = mod as Partial<FidelityMetric> & { default?: Partial<FidelityMetric> };
  if (typeof m.metric !== 'function' && m.default && typeof m.default.metric === 'function') m = m.default;
  return checkMetric(m, path.basename(file).replace(/\.(c|m)?[jt]s$/, ''), spec);
}

function checkMetric(m: Partial<FidelityMetric>, fallbackName: string, spec = fallbackName): FidelityMetric {
  if (typeof m.metric !== 'function') {
    throw new PluginError(spec, `metric ${spec}: exports no function "metric"; expected module.exports = { name: "my-metric", metric(fp32Outputs, int8Outputs) { return score } } (higher is better)`);
  }
  const fn = m.metric.bind(m);
  return { name: typeof m.name === 'string' && m.name ? m.name : fallbackName, metric: fn };
}
