import { COLLECTOR_API_VERSION, defineCollector, type CalibrationCollector, type TensorRange } from '@qcal/plugin-kit';
import { addAbsBatch, tallyBatch, type AbsHistogram } from '@qcal/collector-entropy';
import { modeloptMseAmax } from './modelopt-mse';

export interface MseOptions {
  /** Bins of the first batch's |x| histogram (Model-Optimizer: 2048). */
  numBins: number;
  /** First candidate bin (Model-Optimizer: 128). */
  startBin: number;
  /** Candidate stride (Model-Optimizer: 1). */
  stride: number;
  /** uint8 (qmax 255) for tensors with min >= 0; default false: int8 narrow range (±127), as Model-Optimizer's default. */
  unsignedForNonNegative: boolean;
}

interface Stat { min: number; max: number; nan: number; inf: number; abs?: AbsHistogram; zeros: number }

/**
 * MSE calibration (NVIDIA Model-Optimizer / TensorRT pytorch-quantization `mse`): a |x| histogram
 * on [0, max] that grows to the right with the same width (shared with the entropy collector's
 * tensorrt mode), then the bin centre amax minimising the count-weighted fake-quantization error
 * of the bin centres. Range ±amax ((0, amax) when unsignedForNonNegative and min >= 0).
 * NaN and ±Infinity are left out and counted.
 */
class MseCollector implements CalibrationCollector {
  private readonly stats = new Map<string, Stat>();
  constructor(private readonly options: Readonly<MseOptions>) {}

  collect(name: string, _opName: string, tensor: { data: Float32Array; extremes?: { min: number; max: number } }): void {
    let s = this.stats.get(name);
    if (!s) { s = { min: Infinity, max: -Infinity, nan: 0, inf: 0, zeros: 0 }; this.stats.set(name, s); }
    const scan = tallyBatch(s, tensor);
    if (!scan) return;
    addAbsBatch(s, tensor.data, scan.absMax, scan.finite, this.options.numBins);
  }

  postCollect(): Record<string, TensorRange> {
    const out: Record<string, TensorRange> = {};
    for (const [name, s] of this.stats) {
      const extras = { ...(s.nan ? { nanCount: s.nan } : {}), ...(s.inf ? { infCount: s.inf } : {}) };
      if (!s.abs) { out[name] = { min: 0, max: 0, threshold: 0, numBins: 0, ...extras }; continue; }
      const unsigned = this.options.unsignedForNonNegative && s.min >= 0;
      const r = modeloptMseAmax(s.abs.counts, s.abs.edges, { numBits: 8, unsigned, startBin: this.options.startBin, stride: this.options.stride });
      out[name] = { min: unsigned ? 0 : -r.amax, max: r.amax, threshold: r.amax, numBins: s.abs.counts.length, bestBin: r.index, ...extras };
    }
    return out;
  }
}

/** The `mse` collector definition. */
export const mseCollector = defineCollector<MseOptions>({
  name: 'mse',
  apiVersion: COLLECTOR_API_VERSION,
  description: 'MSE-optimal symmetric range on a 2048-bin |x| histogram (NVIDIA Model-Optimizer / TensorRT pytorch-quantization mse)',
  optionsSchema: {
    numBins: { type: 'integer', min: 16, description: 'bins of the first batch\'s |x| histogram' },
    startBin: { type: 'integer', min: 1, description: 'first candidate bin' },
    stride: { type: 'integer', min: 1, description: 'candidate stride' },
    unsignedForNonNegative: { type: 'boolean', description: 'search with qmax 255 for tensors with min >= 0 and report (0, amax)' },
  },
  defaultOptions: { numBins: 2048, startBin: 128, stride: 1, unsignedForNonNegative: false },
  create: (options) => new MseCollector(options),
});
