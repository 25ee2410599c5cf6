import {
  COLLECTOR_API_VERSION, CalibrationError, decodeFloat64, defineCollector, encodeArray,
  type ActivationTensor, type CalibrationCollector, type CollectorState, type EncodedArray, type TensorRange,
} from '@qcal/plugin-kit';
import { createHfmgHistogram, hfmgCollectBatch, hfmgMergeHistograms, type HfmgHistogram } from './hfmg-histogram';
import { hfmgSearch } from './hfmg-search';

export interface HfmgOptions {
  /** Histogram bins (AMCT HFMGQuantize.num_of_bins): 1024, 2048, 4096 or 8192. */
  numOfBins: number;
  /** Asymmetric quantization with an offset (scale (max − min)/255) instead of symmetric (/127, /128). */
  withOffset: boolean;
  /** How many leading batches feed the histogram (AMCT batch_num); 0 = all batches. */
  batchNum: number;
  /** Integer bits: 8 (int8) or 4 (int4); the search uses 2^numBits destination bins. */
  numBits: number;
}

interface TensorState { hist: HfmgHistogram; batches: number; nan: number; inf: number }

interface TensorSnapshot { min: number | null; max: number | null; batches: number; nan: number; inf: number; counts: EncodedArray }
interface HfmgSnapshot { version: 1; collector: 'hfmg'; numOfBins: number; tensors: Record<string, TensorSnapshot> }

/**
 * Huawei AMCT HFMG (Python semantics, `HFMG._merge_histogram` + `hfmg_forward_pytorch`): one
 * histogram of `numOfBins` counts per tensor, folded batch by batch exactly as AMCT does, searched
 * once at the end. State is O(numOfBins) per tensor whatever the number of batches.
 */
class HfmgCollector implements CalibrationCollector {
  private readonly state = new Map<string, TensorState>();
  constructor(private readonly options: Readonly<HfmgOptions>) {}

  private tensor(name: string): TensorState {
    let st = this.state.get(name);
    if (!st) {
      st = { hist: createHfmgHistogram(this.options.numOfBins), batches: 0, nan: 0, inf: 0 };
      this.state.set(name, st);
    }
    return st;
  }

  collect(name: string, _opName: string, tensor: ActivationTensor): void {
    const st = this.tensor(name);
    if (this.options.batchNum > 0 && st.batches >= this.options.batchNum) return;
    st.batches++;
    // NaN and ±Infinity: AMCT raises; qcal drops and counts them.
    hfmgCollectBatch(st.hist, tensor.data, st, tensor.extremes);
  }

  postCollect(): Record<string, TensorRange> {
    const out: Record<string, TensorRange> = {};
    for (const [name, st] of this.state) {
      const h = st.hist;
      const r = h.min === null || h.max === null
        ? hfmgSearch(h.counts, 0, 0, this.options.withOffset, this.options.numBits) // no finite value: a zero range
        : hfmgSearch(h.counts, h.min, h.max, this.options.withOffset, this.options.numBits);
      const range: TensorRange = {
        min: r.clipMin + 0, max: r.clipMax + 0, scale: r.scale, offset: r.offset, // + 0: no -0 in tables
        rangeMin: r.rangeMin + 0, rangeMax: r.rangeMax + 0,
      };
      if (st.nan) range.nanCount = st.nan;
      if (st.inf) range.infCount = st.inf;
      out[name] = range;
    }
    return out;
  }

  snapshot(): CollectorState {
    const tensors: Record<string, TensorSnapshot> = {};
    for (const [name, st] of this.state) {
      tensors[name] = { min: st.hist.min, max: st.hist.max, batches: st.batches, nan: st.nan, inf: st.inf, counts: encodeArray(st.hist.counts) };
    }
    const snap: HfmgSnapshot = { version: 1, collector: 'hfmg', numOfBins: this.options.numOfBins, tensors };
    return snap;
  }

  /**
   * Joins a shard (a later slice of the data): its histogram is re-binned onto the union range
   * with AMCT's proportional split and added, as AMCT re-bins its own histogram at every batch.
   * AMCT's fold is not associative (each re-binning truncates), so a sharded result is not
   * bit-identical to a single run unless the shards' ranges line up; see the README.
   */
  merge(state: CollectorState): void {
    const snap = state as HfmgSnapshot;
    if (!snap || snap.collector !== 'hfmg' || snap.version !== 1) throw new CalibrationError('hfmg: not an hfmg snapshot (version 1)');
    if (snap.numOfBins !== this.options.numOfBins) {
      throw new CalibrationError(`hfmg: snapshot has numOfBins ${snap.numOfBins}, this run ${this.options.numOfBins}; shards must use the same options`);
    }
    for (const [name, s] of Object.entries(snap.tensors)) {
      const st = this.tensor(name);
      hfmgMergeHistograms(st.hist, { counts: decodeFloat64(s.counts), min: s.min, max: s.max });
      st.batches += s.batches;
      st.nan += s.nan;
      st.inf += s.inf;
    }
  }
}

/** The `hfmg` collector definition. */
export const hfmgCollector = defineCollector<HfmgOptions>({
  name: 'hfmg',
  apiVersion: COLLECTOR_API_VERSION,
  description: 'Huawei AMCT HFMG: per-batch histograms merged by proportional split, greedy count-step shrink, L2 bin-overlap loss, global first minimum; AMCT scale/offset',
  optionsSchema: {
    numOfBins: { type: 'integer', oneOf: [1024, 2048, 4096, 8192], description: 'histogram bins (AMCT num_of_bins)' },
    withOffset: { type: 'boolean', description: 'asymmetric quantization with an offset (AMCT with_offset)' },
    batchNum: { type: 'integer', min: 0, description: 'leading batches that feed the histogram (AMCT batch_num); 0 = all' },
    numBits: { type: 'integer', oneOf: [4, 8], description: 'integer bits (int8 or int4)' },
  },
  defaultOptions: { numOfBins: 4096, withOffset: false, batchNum: 0, numBits: 8 },
  create: (options) => new HfmgCollector(options),
});
