import {
  COLLECTOR_API_VERSION, CalibrationError, decodeFloat64, defineCollector, encodeArray,
  type ActivationTensor, type CalibrationCollector, type CollectorState, type EncodedArray, type TensorRange,
} from '@qcal/plugin-kit';
import { OVERFLOW_LIMIT } from './float32';
import { ifmrSearch, type IfmrParams, type IfmrResult } from './ifmr-search';
import { ifmrSearchHistogram } from './ifmr-histogram';
import { addToMomentHistogram, createMomentHistogram, extendMomentRange, mergeMomentHistograms, type MomentHistogram } from './moment-histogram';

export interface IfmrOptions {
  /** `histogram` (default): search over a moment histogram of all batches; `exact`: AMCT's search on the raw values of the first `batchNum` batches. */
  mode: 'histogram' | 'exact';
  /** exact mode: how many leading batches are searched (AMCT batch_num; default 1 as `create_quant_config`). */
  batchNum: number;
  maxPercentile: number;
  minPercentile: number;
  /** Candidate ratios [start, end): AMCT search_range_start/end. */
  searchRange: number[];
  searchStep: number;
  /** Asymmetric (scale (c − min)/255 and an offset) instead of symmetric (c/127, c/128). */
  withOffset: boolean;
  /** Integer bits: 8 (int8) or 4 (int4). */
  numBits: number;
  /** histogram mode: bins of the lattice histogram. */
  histogramBins: number;
}

interface TensorState {
  nan: number;
  inf: number;
  batches: number;
  /** exact mode: raw finite values of the batches held so far, then the result. */
  raw?: Float32Array[];
  result?: IfmrResult;
  hist?: MomentHistogram;
}

interface HistSnapshot {
  bins: number; exp: number | null; origin: number; n: number; sumSq: number;
  min: number | null; max: number | null; nan: number; inf: number; batches: number;
  count: EncodedArray; sum: EncodedArray;
}

interface IfmrSnapshot { version: 1; collector: 'ifmr'; tensors: Record<string, HistSnapshot> }

const LIM = OVERFLOW_LIMIT;

function finiteCopy(data: Float32Array, st: TensorState): Float32Array {
  let bad = 0;
  for (let i = 0; i < data.length; i++) { const v = data[i]!; if (!(v > -LIM && v < LIM)) bad++; }
  if (!bad) return Float32Array.from(data);
  const out = new Float32Array(data.length - bad);
  let o = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v !== v) st.nan++;
    else if (!(v > -LIM && v < LIM)) st.inf++; // ±Infinity or overflowed (OVERFLOW_LIMIT)
    else out[o++] = v;
  }
  return out;
}

function concat(chunks: Float32Array[]): Float32Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Float32Array(chunks.reduce((s, c) => s + c.length, 0));
  let o = 0;
  for (const c of chunks) { out.set(c, o); o += c.length; }
  return out;
}

/**
 * Huawei AMCT IFMR (Python `ifmr_forward_pytorch` semantics). Exact mode keeps the raw values of
 * the first `batchNum` batches of each tensor, searches as soon as they are complete (AMCT searches
 * at `cur_batch == batch_num`) and frees them. Histogram mode streams every batch into a
 * {@link MomentHistogram} and searches at the end; its state is snapshot/merge-able.
 */
class IfmrCollector implements CalibrationCollector {
  private readonly state = new Map<string, TensorState>();
  private readonly params: IfmrParams;

  constructor(private readonly options: Readonly<IfmrOptions>) {
    const [start, end] = options.searchRange;
    this.params = {
      numBits: options.numBits, withOffset: options.withOffset, maxPercentile: options.maxPercentile,
      minPercentile: options.minPercentile, searchStart: start ?? 0.7, searchEnd: end ?? 1.3, searchStep: options.searchStep,
    };
  }

  private tensor(name: string): TensorState {
    let st = this.state.get(name);
    if (!st) {
      st = { nan: 0, inf: 0, batches: 0 };
      if (this.options.mode === 'histogram') st.hist = createMomentHistogram(this.options.histogramBins);
      else st.raw = [];
      this.state.set(name, st);
    }
    return st;
  }

  collect(name: string, _opName: string, tensor: ActivationTensor): void {
    const st = this.tensor(name);
    if (st.hist) {
      addToMomentHistogram(st.hist, tensor.data);
      // Fast mode: the data were a sample; the range (and so the search's extremes) is the tensor's.
      if (tensor.extremes) extendMomentRange(st.hist, tensor.extremes.min, tensor.extremes.max);
      st.batches++;
      return;
    }
    if (st.batches >= this.options.batchNum) return; // AMCT ignores batches after batch_num
    st.raw!.push(finiteCopy(tensor.data, st));
    st.batches++;
    if (st.batches === this.options.batchNum) this.searchExact(st);
  }

  private searchExact(st: TensorState): void {
    st.result = ifmrSearch(concat(st.raw!), this.params);
    st.raw = [];
  }

  postCollect(): Record<string, TensorRange> {
    const out: Record<string, TensorRange> = {};
    for (const [name, st] of this.state) {
      if (st.hist) st.result = ifmrSearchHistogram(st.hist, this.params);
      else if (!st.result) this.searchExact(st); // fewer batches than batchNum
      const r = st.result!;
      const nan = st.hist ? st.hist.nan : st.nan;
      const inf = st.hist ? st.hist.inf : st.inf;
      const range: TensorRange = {
        min: r.clipMin + 0, max: r.clipMax + 0, scale: r.scale, offset: r.offset, // + 0: no -0 in tables
        clipValue: r.diag.bestCandidate, ratio: r.diag.bestRatio,
      };
      if (nan) range.nanCount = nan;
      if (inf) range.infCount = inf;
      out[name] = range;
    }
    return out;
  }

  snapshot(): CollectorState {
    if (this.options.mode !== 'histogram') {
      throw new CalibrationError('ifmr: mode "exact" searches raw activations and has no mergeable state; use mode "histogram" for sharded calibration');
    }
    const tensors: Record<string, HistSnapshot> = {};
    for (const [name, st] of this.state) {
      const h = st.hist!;
      tensors[name] = {
        bins: h.bins, exp: h.exp, origin: h.origin, n: h.n, sumSq: h.sumSq,
        min: Number.isFinite(h.min) ? h.min : null, max: Number.isFinite(h.max) ? h.max : null,
        nan: h.nan, inf: h.inf, batches: st.batches, count: encodeArray(h.count), sum: encodeArray(h.sum),
      };
    }
    const snap: IfmrSnapshot = { version: 1, collector: 'ifmr', tensors };
    return snap;
  }

  merge(state: CollectorState): void {
    if (this.options.mode !== 'histogram') {
      throw new CalibrationError('ifmr: mode "exact" cannot merge shards; use mode "histogram"');
    }
    const snap = state as IfmrSnapshot;
    if (!snap || snap.collector !== 'ifmr' || snap.version !== 1) throw new CalibrationError('ifmr: not an ifmr snapshot (version 1)');
    for (const [name, s] of Object.entries(snap.tensors)) {
      if (s.bins !== this.options.histogramBins) {
        throw new CalibrationError(`ifmr: snapshot of tensor "${name}" has ${s.bins} histogram bins, this run uses ${this.options.histogramBins}; shards must use the same options`);
      }
      const other: MomentHistogram = {
        bins: s.bins, exp: s.exp, origin: s.origin, n: s.n, sumSq: s.sumSq,
        min: s.min ?? Infinity, max: s.max ?? -Infinity, nan: s.nan, inf: s.inf,
        count: decodeFloat64(s.count), sum: decodeFloat64(s.sum),
      };
      const st = this.tensor(name);
      mergeMomentHistograms(st.hist!, other);
      st.batches += s.batches;
    }
  }
}

/** The `ifmr` collector definition. */
export const ifmrCollector = defineCollector<IfmrOptions>({
  name: 'ifmr',
  apiVersion: COLLECTOR_API_VERSION,
  description: 'Huawei AMCT IFMR: percentile start, clip candidates r·max (r in [0.7, 1.3)), quantization MSE, first minimum; AMCT scale/offset',
  optionsSchema: {
    mode: { type: 'string', enum: ['histogram', 'exact'], description: 'histogram: search over a fine histogram of all batches (streaming, mergeable); exact: AMCT\'s search on the raw values of the first batchNum batches' },
    batchNum: { type: 'integer', min: 1, description: 'exact mode: number of leading batches searched (AMCT batch_num); their raw values are held in memory' },
    maxPercentile: { type: 'number', min: 0.5, max: 1, description: 'percentile of the initial max (AMCT max_percentile)' },
    minPercentile: { type: 'number', min: 0.5, max: 1, description: 'percentile of the initial min (AMCT min_percentile)' },
    searchRange: { type: 'number[]', length: 2, min: 0, max: 10, description: 'candidate ratios [start, end) (AMCT search_range_start, search_range_end)' },
    searchStep: { type: 'number', min: 0.0001, max: 1, description: 'ratio step (AMCT search_step; at least 1e-4: at most 100,000 candidates)' },
    withOffset: { type: 'boolean', description: 'asymmetric quantization with an offset (AMCT with_offset / activation_offset)' },
    numBits: { type: 'integer', oneOf: [4, 8], description: 'integer bits (int8 or int4)' },
    histogramBins: { type: 'integer', min: 256, max: 1048576, description: 'histogram mode: lattice bins (the data range spans more than half of them)' },
  },
  defaultOptions: {
    mode: 'histogram', batchNum: 1, maxPercentile: 0.999999, minPercentile: 0.999999, searchRange: [0.7, 1.3],
    searchStep: 0.01, withOffset: false, numBits: 8, histogramBins: 8192,
  },
  create: (options) => {
    const [start, end] = options.searchRange;
    if (start === undefined || end === undefined || !(end > start)) {
      throw new CalibrationError(`ifmr: searchRange must be [start, end] with start < end, got ${JSON.stringify(options.searchRange)}`);
    }
    return new IfmrCollector(options);
  },
});
