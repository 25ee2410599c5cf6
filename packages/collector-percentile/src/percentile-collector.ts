import { COLLECTOR_API_VERSION, defineCollector, type CalibrationCollector, type TensorRange } from '@qcal/plugin-kit';
import { addAbsBatch, tallyBatch, type AbsHistogram } from '@qcal/collector-entropy';
import { absFinite, addToOrtAbsHistogram, ortAbsHistogram, ortPercentileRange, type OrtAbsHistogram } from './ort-abs-histogram';
import { histogramPercentile } from './histogram-percentile';

export type PercentileMode = 'onnxruntime' | 'modelopt';

export interface PercentileOptions {
  /** Percentile of |x| kept (onnxruntime's default 99.999; Model-Optimizer's 99.99). */
  percentile: number;
  /** Histogram bins of the first batch (both references: 2048). */
  numBins: number;
  /**
   * `onnxruntime` (default): CalibrationMethod.Percentile as quantize_static runs it (|x| histogram
   * from min|x|, range clipped to the data's signed min/max); `modelopt`: Model-Optimizer's
   * HistogramCalibrator percentile (|x| histogram from 0, symmetric ±amax).
   */
  mode: PercentileMode;
}

interface Stat { min: number; max: number; nan: number; inf: number; ort?: OrtAbsHistogram; abs?: AbsHistogram; zeros: number }

/**
 * Percentile calibration: the range keeps `percentile` % of |x| on a histogram, clipping the rest.
 * A thin shell around the kernels in ort-abs-histogram.ts (onnxruntime) and @qcal/collector-entropy's
 * modelopt |x| histogram. NaN and ±Infinity are left out of the histogram and counted in the table.
 */
class PercentileCollector implements CalibrationCollector {
  private readonly stats = new Map<string, Stat>();
  constructor(private readonly options: Readonly<PercentileOptions>) {}

  collect(name: string, _opName: string, tensor: { data: Float32Array; extremes?: { min: number; max: number } }): void {
    let s = this.stats.get(name);
    if (!s) { s = { min: Infinity, max: -Infinity, nan: 0, inf: 0, zeros: 0 }; this.stats.set(name, s); }
    const scan = tallyBatch(s, tensor);
    if (!scan) return;
    if (this.options.mode === 'onnxruntime') {
      // The first batch needs |x| as an array (its grid spans [min |x|, max |x|]); later ones are binned as they come.
      s.ort = s.ort ? addToOrtAbsHistogram(s.ort, tensor.data, name) : ortAbsHistogram(absFinite(tensor.data), this.options.numBins);
    } else addAbsBatch(s, tensor.data, scan.absMax, scan.finite, this.options.numBins);
  }

  postCollect(): Record<string, TensorRange> {
    const out: Record<string, TensorRange> = {};
    const { percentile, mode } = this.options;
    for (const [name, s] of this.stats) {
      const extras = { mode, percentile, ...(s.nan ? { nanCount: s.nan } : {}), ...(s.inf ? { infCount: s.inf } : {}) };
      if (s.ort) {
        const r = ortPercentileRange(s.ort, percentile, s.min, s.max);
        out[name] = { min: r.min, max: r.max, threshold: r.threshold, numBins: s.ort.counts.length, ...(s.ort.dropped ? { droppedBelowFirstEdge: s.ort.dropped } : {}), ...extras };
      } else if (s.abs) {
        const t = histogramPercentile(s.abs.counts, s.abs.edges, percentile).threshold;
        out[name] = { min: -t, max: t, threshold: t, numBins: s.abs.counts.length, ...extras };
      } else out[name] = { min: 0, max: 0, threshold: 0, numBins: 0, ...extras };
    }
    return out;
  }
}

/** The `percentile` collector definition. */
export const percentileCollector = defineCollector<PercentileOptions>({
  name: 'percentile',
  apiVersion: COLLECTOR_API_VERSION,
  description: 'Percentile of |x| on a 2048-bin histogram: onnxruntime CalibrationMethod.Percentile (99.999, default) or Model-Optimizer\'s',
  optionsSchema: {
    percentile: { type: 'number', min: 50, max: 100, description: 'percentile of |x| kept (onnxruntime 99.999, Model-Optimizer 99.99)' },
    numBins: { type: 'integer', min: 16, description: 'histogram bins of the first batch' },
    mode: { type: 'string', enum: ['onnxruntime', 'modelopt'], description: 'onnxruntime: |x| histogram from min|x|, range clipped to the signed data min/max; modelopt: |x| histogram from 0, ±amax' },
  },
  defaultOptions: { percentile: 99.999, numBins: 2048, mode: 'onnxruntime' },
  create: (options) => new PercentileCollector(options),
});
