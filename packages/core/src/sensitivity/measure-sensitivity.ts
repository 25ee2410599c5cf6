import { indexGraph } from '../onnx/graph-index';
import type { Logger } from '../logger';
import type { PluginSearch } from '../plugins/resolve-plugin';
import type { QdqOptions } from '../qdq/build-qdq';
import type { SessionSettings } from '../runner/session';
import type { CalibrationTable } from '../table';
import { collectEvalSet, type EvalItem } from './eval-set';
import { loadFidelityMetric, type FidelityMetric } from './fidelity-metric';
import { readModelInput, type ModelInput } from './model-input';
import { createSensitivityProbe } from './sensitivity-probe';

/** `quantized-alone`: only this tensor quantized (its loss); `float-alone`: all but this one (its gain). */
export type SensitivityView = 'quantized-alone' | 'float-alone';

export interface SensitivityOptions {
  model: ModelInput;
  table: CalibrationTable;
  /** Evaluation data (feeds or data-layer batches); the first `evalSamples` samples are used. */
  data: Iterable<EvalItem> | AsyncIterable<EvalItem>;
  /** Samples to evaluate every configuration on (default 8; whole batches). */
  evalSamples?: number;
  /** `cosine` (default), `sqnr`, a metric module path/package, or a metric object. */
  metric?: string | FidelityMetric;
  /** Where a metric module is resolved from (config folder, then cwd). */
  search?: PluginSearch;
  /** Views to measure (default both). */
  views?: readonly SensitivityView[];
  /** QDQ writer options (placement, activation type) — the same as the model will be built with. */
  qdq?: QdqOptions;
  session?: SessionSettings;
  /** Called after each configuration with (done, total). */
  onProgress?: (done: number, total: number) => void;
  /** Tensors measured per restricted switch model (default 32; see SensitivityProbe.focus). */
  groupSize?: number;
  /** Phase lines (counts and elapsed time), also where no progress bar is drawn. */
  logger?: Logger;
  /**
   * Run each block's prefix (what lies before its first switch: FP32 in the loss view, all
   * quantized in the gain view) once per batch and only the rest per configuration (default true;
   * see splitAtSwitches). Scores agree with the unsplit model up to float rounding at the cut.
   */
  splitPrefix?: boolean;
}

const DEFAULT_GROUP_SIZE = 32;

export interface LayerSensitivity {
  tensor: string;
  /** Producing node and its op type ('' / 'Input' for a graph input). */
  op: string;
  opType: string;
  /** Position among the quantized activations, in graph order (the tie-breaker). */
  order: number;
  /** Metric with only this tensor's activation quantized. */
  quantizedAlone?: number;
  /** noneQuantized − quantizedAlone: what quantizing this tensor alone costs. */
  loss?: number;
  /** Metric with every activation quantized but this one. */
  floatAlone?: number;
  /** floatAlone − allQuantized: what keeping only this tensor float wins back. */
  gain?: number;
}

export interface SensitivityReport {
  metric: string;
  /** Samples every configuration was evaluated on. */
  samples: number;
  /** Metric with nothing quantized (the FP32 model: a check, 1 for cosine) / with every activation and its weights quantized. */
  baseline: { noneQuantized: number; allQuantized: number };
  /** Most harmful first: by loss (or gain when only float-alone was measured), ties in graph order. */
  layers: LayerSensitivity[];
  rankedBy: 'loss' | 'gain';
  cost: { configurations: number; inferences: number; ms: number };
}

/** NaN (a broken output) ranks as the most harmful. */
const harm = (x: number | undefined): number => (x === undefined ? -Infinity : Number.isNaN(x) ? Infinity : x);

/** Sorts most harmful first; equal harm keeps graph order (deterministic). */
export function rankLayers(layers: readonly LayerSensitivity[], by: 'loss' | 'gain'): LayerSensitivity[] {
  return [...layers].sort((a, b) => harm(b[by]) - harm(a[by]) || a.order - b.order);
}

/**
 * Per-layer sensitivity (`qcal sensitivity`): for every activation the QDQ writer quantizes, the
 * metric of the model's outputs with only that tensor quantized (loss) and with only that tensor
 * left float (gain), against FP32 outputs computed once. The switch model (see buildSwitchModel)
 * serves every configuration, restricted to a block of `groupSize` switches at a time (one session
 * per block and view); cost is (2 + views·N) × evaluation batches inferences of a model close to
 * the plain one for N quantized activations, plus one FP32 pass — linear in N and in evalSamples.
 */
export async function measureSensitivity(opts: SensitivityOptions): Promise<SensitivityReport> {
  const t0 = performance.now();
  const src = readModelInput(opts.model);
  const metric = loadFidelityMetric(opts.metric ?? 'cosine', opts.search);
  const evalSet = await collectEvalSet(opts.data, opts.evalSamples ?? 8);
  const secs = (): string => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
  const probe = await createSensitivityProbe({ ...src, table: opts.table, evalSet, metric, qdq: opts.qdq, session: opts.session, ...(opts.splitPrefix === false ? { splitPrefix: false } : {}) });
  try {
    const views = opts.views ?? ['quantized-alone', 'float-alone'];
    const idx = indexGraph(src.model);
    const all = new Set(probe.switches);
    const total = 2 + views.length * all.size;
    const size0 = Math.max(1, Math.floor(opts.groupSize ?? DEFAULT_GROUP_SIZE));
    opts.logger?.info(`sensitivity: FP32 reference of ${evalSet.samples} sample(s) and switch model ready, ${secs()}; ${all.size} quantized activations × ${views.length} view(s) = ${total} configurations in ${Math.ceil(all.size / size0)} block(s) of ${size0}`);
    let done = 0;
    const step = (): void => { done++; opts.onProgress?.(done, total); };
    await probe.focus([], 'off');
    const noneQuantized = await probe.score(new Set()); step();
    await probe.focus([], 'on');
    const allQuantized = await probe.score(all); step();
    const layers: LayerSensitivity[] = probe.switches.map((tensor, order) => {
      const t = idx.tensors.get(tensor);
      return { tensor, op: t?.opName ?? '', opType: t?.opType ?? '', order };
    });
    // Blocks of tensors, each measured on a model where only its own switches vary (see
    // SensitivityProbe.focus): one session per block and view instead of every configuration
    // paying for every switch.
    const size = size0;
    let lastLine = performance.now();
    for (let b = 0; b < layers.length; b += size) {
      if (performance.now() - lastLine >= 10_000) {
        lastLine = performance.now();
        opts.logger?.info(`sensitivity: block ${b / size + 1}/${Math.ceil(layers.length / size)}, ${done}/${total} configurations, ${probe.inferences} inferences, ${secs()}`);
      }
      const block = layers.slice(b, b + size);
      const names = block.map((l) => l.tensor);
      if (views.includes('quantized-alone')) {
        await probe.focus(names, 'off');
        for (const l of block) {
          l.quantizedAlone = await probe.score(new Set([l.tensor])); step();
          l.loss = noneQuantized - l.quantizedAlone;
        }
      }
      if (views.includes('float-alone')) {
        await probe.focus(names, 'on');
        for (const l of block) {
          const rest = new Set(all); rest.delete(l.tensor);
          l.floatAlone = await probe.score(rest); step();
          l.gain = l.floatAlone - allQuantized;
        }
      }
    }
    opts.logger?.info(`sensitivity: ${done} configurations, ${probe.inferences} inferences, ${secs()}`);
    const rankedBy = views.includes('quantized-alone') ? 'loss' : 'gain';
    return {
      metric: metric.name,
      samples: evalSet.samples,
      baseline: { noneQuantized, allQuantized },
      layers: rankLayers(layers, rankedBy),
      rankedBy,
      cost: { configurations: done, inferences: probe.inferences, ms: performance.now() - t0 },
    };
  } finally {
    await probe.release();
  }
}
