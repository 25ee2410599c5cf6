import {
  COLLECTOR_API_VERSION,
  defineCollector,
  type CalibrationCollector,
  type CollectorState,
  type TensorRange,
} from '@qcal/plugin-kit';
import { finiteMinMax } from './min-max';

export interface MinMaxOptions {
  /** Exponential moving average of per-batch min/max instead of the global min/max (onnxruntime's CalibMovingAverage). */
  movingAverage: boolean;
  /** Weight of the new batch in the moving average. */
  averagingConstant: number;
  /** Report [-absmax, absmax] instead of [min, max]. */
  symmetric: boolean;
  /**
   * Mean over batches of each batch's min and max (NNCF's MEAN_MINMAX range estimator; per sample
   * at qcal's default batch size 1) instead of the global min/max: one outlier sample no longer sets
   * the range.
   */
  meanMinMax: boolean;
}

/** sumMin/sumMax/finite: sums of the per-batch min and max over the `finite` batches that had a finite value. */
interface Stat { min: number; max: number; nan: number; inf: number; batches: number; sumMin?: number; sumMax?: number; finite?: number }

interface MinMaxState { version: 1; stats: Record<string, Stat> }

/**
 * Naive min/max: MXNet's `_LayerOutputMinMaxCollector` (running min and max of every batch). With
 * `movingAverage`, onnxruntime's `CalibMovingAverage`: m ← m + c·(batch − m), the first batch
 * taken as is. Non-finite values are not part of the range; their counts go into the table.
 */
class MinMaxCollector implements CalibrationCollector {
  private readonly stats = new Map<string, Stat>();
  constructor(private readonly options: Readonly<MinMaxOptions>) {}

  collect(name: string, _opName: string, tensor: { data: Float32Array; extremes?: { min: number; max: number } }): void {
    const r = finiteMinMax(tensor.data);
    // Fast mode: `data` is a sample; the tensor's exact extremes come with it.
    if (tensor.extremes) {
      if (tensor.extremes.min < r.min) r.min = tensor.extremes.min;
      if (tensor.extremes.max > r.max) r.max = tensor.extremes.max;
    }
    const s = this.stats.get(name);
    const ok = Number.isFinite(r.min) && Number.isFinite(r.max);
    if (!s) {
      this.stats.set(name, { ...r, batches: 1, ...(this.options.meanMinMax ? { sumMin: ok ? r.min : 0, sumMax: ok ? r.max : 0, finite: ok ? 1 : 0 } : {}) });
      return;
    }
    if (this.options.meanMinMax && ok) { s.sumMin! += r.min; s.sumMax! += r.max; s.finite!++; }
    s.nan += r.nan;
    s.inf += r.inf;
    s.batches++;
    if (this.options.movingAverage) {
      const c = this.options.averagingConstant;
      if (Number.isFinite(r.min)) s.min = Number.isFinite(s.min) ? s.min + c * (r.min - s.min) : r.min;
      if (Number.isFinite(r.max)) s.max = Number.isFinite(s.max) ? s.max + c * (r.max - s.max) : r.max;
    } else {
      if (r.min < s.min) s.min = r.min;
      if (r.max > s.max) s.max = r.max;
    }
  }

  postCollect(): Record<string, TensorRange> {
    const out: Record<string, TensorRange> = {};
    for (const [name, s] of this.stats) {
      let min = s.min;
      let max = s.max;
      if (this.options.meanMinMax && s.finite) { min = s.sumMin! / s.finite; max = s.sumMax! / s.finite; }
      if (!Number.isFinite(min) || !Number.isFinite(max)) { min = 0; max = 0; } // no finite value seen
      if (this.options.symmetric) {
        const a = Math.max(Math.abs(min), Math.abs(max));
        min = -a;
        max = a;
      }
      const range: TensorRange = { min, max };
      if (s.nan) range.nanCount = s.nan;
      if (s.inf) range.infCount = s.inf;
      out[name] = range;
    }
    return out;
  }

  snapshot(): CollectorState {
    const state: MinMaxState = { version: 1, stats: Object.fromEntries(this.stats) };
    // JSON has no Infinity: a tensor with no finite value is stored with null bounds.
    return JSON.parse(JSON.stringify(state, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)));
  }

  merge(state: CollectorState): void {
    const st = state as MinMaxState;
    if (this.options.movingAverage) {
      throw new Error('a moving average depends on batch order across shards and cannot be merged exactly; use movingAverage: false for sharded runs');
    }
    for (const [name, o] of Object.entries(st.stats)) {
      const other: Stat = { min: o.min ?? Infinity, max: o.max ?? -Infinity, nan: o.nan, inf: o.inf, batches: o.batches, ...(o.finite !== undefined ? { sumMin: o.sumMin!, sumMax: o.sumMax!, finite: o.finite } : {}) };
      const s = this.stats.get(name);
      if (!s) { this.stats.set(name, other); continue; }
      s.min = Math.min(s.min, other.min);
      s.max = Math.max(s.max, other.max);
      s.nan += other.nan;
      s.inf += other.inf;
      s.batches += other.batches;
      if (this.options.meanMinMax) { s.sumMin = (s.sumMin ?? 0) + (o.sumMin ?? 0); s.sumMax = (s.sumMax ?? 0) + (o.sumMax ?? 0); s.finite = (s.finite ?? 0) + (o.finite ?? 0); }
    }
  }
}

/** The `minmax` collector definition. */
export const minmaxCollector = defineCollector<MinMaxOptions>({
  name: 'minmax',
  apiVersion: COLLECTOR_API_VERSION,
  description: 'Naive running min/max per tensor (MXNet naive mode); optional moving average and symmetric range',
  optionsSchema: {
    movingAverage: { type: 'boolean', description: 'exponential moving average of per-batch min/max (onnxruntime CalibMovingAverage)' },
    averagingConstant: { type: 'number', min: 0, max: 1, exclusiveMin: true, description: 'weight of each new batch in the moving average' },
    symmetric: { type: 'boolean', description: 'report [-absmax, absmax] instead of [min, max]' },
    meanMinMax: { type: 'boolean', description: "mean over batches of each batch's min and max (NNCF MEAN_MINMAX; per sample at batch size 1)" },
  },
  defaultOptions: { movingAverage: false, averagingConstant: 0.01, symmetric: false, meanMinMax: false },
  // min/max of [min, max] is min/max: the runner may reduce in-graph.
  needs: { activations: 'range' },
  create: (options) => {
    if (options.movingAverage && options.meanMinMax) throw new Error('options movingAverage and meanMinMax are two different ways to average per-batch ranges: set only one of them');
    return new MinMaxCollector(options);
  },
});
