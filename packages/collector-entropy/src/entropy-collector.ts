import {
  COLLECTOR_API_VERSION,
  decodeFloat64,
  defineCollector,
  encodeArray,
  type CalibrationCollector,
  type CollectorState,
  type EncodedArray,
  type PostCollectContext,
  type TensorRange,
} from '@qcal/plugin-kit';
import { scanFinite, scanWithExtremes, type FiniteScan } from './finite-scan';
import { addToSignedHistogram, signedHistogram, type SignedHistogram } from './mxnet-histogram';
import { histogramScanInto, linspaceEdges32 } from './numpy-histogram';
import { absHistogram, addToAbsHistogram, type AbsHistogram } from './abs-histogram';
import type { KlResult } from './mxnet-kl';
import type { KlTask } from './kl-task';
import { defaultKlThreads, runKlTasks } from './kl-pool';
import { mergeSignedHistograms, mergeAbsHistograms } from './merge-histograms';
import { addToTpumlirHistogram, tpumlirHistogram, TPUMLIR_SKIP_ABS, type TpuMlirHistogram } from './tpumlir-histogram';
import { tpumlirKlThreshold, tpumlirPadHistogram } from './tpumlir-kl';

export type EntropyMode = 'mxnet' | 'tensorrt' | 'tpumlir';
export type QuantizedDtype = 'int8' | 'uint8' | 'auto';

export interface EntropyOptions {
  /** `mxnet` (MXNet/TVM 8001-bin signed histogram, default), `tensorrt` (NVIDIA 2048-bin |x|) or `tpumlir` (tpu-mlir KLD, 2048 bins centred on k·w). */
  mode: EntropyMode;
  /** Histogram bins of the first batch; default 8001 (mxnet, must be odd) or 2048 (tensorrt, tpumlir). */
  numBins?: number;
  /** mxnet: quantized bins (255; doubled to 511 for non-negative tensors with uint8/auto). */
  numQuantizedBins: number;
  /** `auto` (MXNet quantize_net's default): uint8 for tensors whose min is >= 0. */
  quantizedDtype: QuantizedDtype;
  /** tensorrt: first candidate (number of kept bins). */
  startBin: number;
  /** tensorrt: candidate stride. */
  stride: number;
  /** Worker threads for the threshold searches at postCollect (default: the context's `threads`, else the machine's parallelism, at most 4; 1 = in-thread). */
  threads?: number;
}

interface TensorStat {
  min: number;
  max: number;
  finite: number;
  nan: number;
  inf: number;
  /** Exact zeros seen before any batch had a non-zero value (no grid yet). */
  pendingZeros: number;
  /** Abs-max of every batch that exceeded all earlier ones (only these can grow a grid; replayed by merge). */
  records: number[];
  signed?: SignedHistogram;
  abs?: AbsHistogram;
  tpu?: TpuMlirHistogram;
}

interface EncodedStat {
  min: number | null;
  max: number | null;
  finite: number;
  nan: number;
  inf: number;
  pendingZeros: number;
  records: number[];
  th?: number;
  counts?: EncodedArray;
  edges?: EncodedArray;
}

interface EntropyState { version: 1; mode: EntropyMode; numBins: number; tensors: Record<string, EncodedStat> }

/** Per-tensor histogram collector; the numeric work is in the pure kernels it calls. */
class EntropyCollector implements CalibrationCollector {
  private readonly stats = new Map<string, TensorStat>();
  private readonly numBins: number;

  constructor(private readonly options: Readonly<EntropyOptions>) {
    this.numBins = options.numBins ?? (options.mode === 'mxnet' ? 8001 : 2048);
    if (options.mode === 'mxnet' && this.numBins % 2 !== 1) {
      throw new Error(`entropy: numBins must be odd in mxnet mode (bin numBins/2 is centred on zero), got ${this.numBins}; use e.g. ${this.numBins + 1}`);
    }
    if (options.mode === 'mxnet' && this.numBins < options.numQuantizedBins) {
      throw new Error(`entropy: numBins (${this.numBins}) must be at least numQuantizedBins (${options.numQuantizedBins})`);
    }
    if (options.mode === 'tensorrt' && this.numBins < options.startBin) {
      throw new Error(`entropy: numBins (${this.numBins}) must be at least startBin (${options.startBin}) in tensorrt mode`);
    }
    if (options.mode === 'tpumlir') {
      if (this.numBins < 2) throw new Error(`entropy: numBins must be at least 2 in tpumlir mode, got ${this.numBins}`);
      // tpu-mlir's growth is order-dependent and re-bins only the batch that grows the grid, so a
      // merged histogram cannot equal a single run's: sharding is refused before any inference.
      Object.defineProperty(this, 'snapshot', { value: undefined });
      Object.defineProperty(this, 'merge', { value: undefined });
    }
  }

  collect(name: string, _opName: string, tensor: { data: Float32Array; extremes?: { min: number; max: number } }): void {
    const data = tensor.data;
    const ext = tensor.extremes;
    let s = this.stats.get(name);
    if (!s) {
      s = { min: Infinity, max: -Infinity, finite: 0, nan: 0, inf: 0, pendingZeros: 0, records: [] };
      this.stats.set(name, s);
    }
    if (this.options.mode === 'tpumlir') { this.collectTpumlir(s, data, ext); return; }
    let scan: FiniteScan;
    let filled = false;
    if (s.signed && !(ext && Math.max(-ext.min, ext.max) > s.signed.th)) {
      // Most batches fit the grid: bin and scan in one pass; at a value outside it the counts are
      // left as they were, and the batch takes the scan-then-grow path below.
      const h = s.signed;
      const fused = histogramScanInto(h.counts, h.edges, data, h.th);
      if (fused.stoppedAt < 0) { scan = fused; filled = true; }
      else scan = scanFinite(data);
    } else scan = scanFinite(data);
    if (ext) scan = scanWithExtremes(scan, ext);
    s.nan += scan.nan;
    s.inf += scan.inf;
    s.finite += scan.finite;
    if (scan.finite === 0) return;
    const prevAbs = s.records.length ? s.records[s.records.length - 1]! : 0;
    if (scan.absMax > prevAbs) s.records.push(scan.absMax);
    if (scan.min < s.min) s.min = scan.min;
    if (scan.max > s.max) s.max = scan.max;
    if (this.options.mode === 'mxnet') {
      if (s.signed) { if (!filled) s.signed = addToSignedHistogram(s.signed, data, scan); }
      else if (scan.absMax > 0) {
        s.signed = signedHistogram(data, scan.absMax, this.numBins);
        addZeros(s.signed.counts, this.numBins >> 1, s.pendingZeros);
        s.pendingZeros = 0;
      } else s.pendingZeros += scan.finite;
    } else {
      if (s.abs) s.abs = addToAbsHistogram(s.abs, data, scan.absMax);
      else if (scan.absMax > 0) {
        s.abs = absHistogram(data, scan.absMax, this.numBins);
        addZeros(s.abs.counts, 0, s.pendingZeros);
        s.pendingZeros = 0;
      } else s.pendingZeros += scan.finite;
    }
  }

  /**
   * tpu-mlir (`kld_calibrator.py` process_statistic): running min/max first, abs_value = max(|min|,
   * |max|) (cumulative), the sample is skipped for the histogram when its own max |x| < 1e-8.
   */
  private collectTpumlir(s: TensorStat, data: Float32Array, ext?: { min: number; max: number }): void {
    const scan = ext ? scanWithExtremes(scanFinite(data), ext) : scanFinite(data);
    s.nan += scan.nan;
    s.inf += scan.inf;
    s.finite += scan.finite;
    if (scan.finite === 0) return;
    if (scan.min < s.min) s.min = scan.min;
    if (scan.max > s.max) s.max = scan.max;
    if (scan.absMax < TPUMLIR_SKIP_ABS) return;
    const absValue = Math.max(-s.min, s.max);
    s.tpu = s.tpu ? addToTpumlirHistogram(s.tpu, data, absValue, this.numBins) : tpumlirHistogram(data, absValue, this.numBins);
  }

  /** tpu-mlir: KL threshold capped at abs_max; deploy range (min < 0 ? −T : 0, T); cali-table min/max as extras. */
  private postCollectTpumlir(): Record<string, TensorRange> {
    const out: Record<string, TensorRange> = {};
    for (const [name, s] of this.stats) {
      const extras = {
        mode: 'tpumlir', nanCount: s.nan, infCount: s.inf,
        caliMin: Number.isFinite(s.min) ? s.min : 0, caliMax: Number.isFinite(s.max) ? s.max : 0,
      };
      if (!s.tpu) {
        out[name] = { min: 0, max: 0, threshold: 0, divergence: null, numBins: 0, ...extras };
        continue;
      }
      const padded = tpumlirPadHistogram(s.tpu.counts, s.tpu.width);
      const r = tpumlirKlThreshold(padded.counts, padded.width, Math.max(-s.min, s.max));
      const t = r.threshold;
      out[name] = {
        min: s.min < 0 ? -t : 0,
        max: t,
        threshold: t,
        divergence: Number.isFinite(r.divergence) ? r.divergence : null,
        numBins: s.tpu.counts.length,
        keptBins: r.bins,
        ...extras,
      };
    }
    return out;
  }

  async postCollect(ctx?: PostCollectContext): Promise<Record<string, TensorRange>> {
    if (this.options.mode === 'tpumlir') return this.postCollectTpumlir();
    const out: Record<string, TensorRange> = {};
    const { mode, quantizedDtype } = this.options;
    // The searches are independent: run them on a worker pool, then assemble the table in order.
    const tasks: KlTask[] = [];
    const taskOf = new Map<string, number>();
    for (const [name, s] of this.stats) {
      const unsignedOut = s.min >= 0 && quantizedDtype !== 'int8';
      if (s.signed) {
        const nq = unsignedOut ? 2 * this.options.numQuantizedBins + 1 : this.options.numQuantizedBins;
        taskOf.set(name, tasks.push({ kind: 'mxnet', counts: s.signed.counts, edges: s.signed.edges, numQuantizedBins: nq }) - 1);
      } else if (s.abs) {
        taskOf.set(name, tasks.push({
          kind: 'modelopt',
          counts: s.abs.counts,
          edges: s.abs.edges,
          options: { numBits: 8, unsigned: quantizedDtype === 'uint8' && s.min >= 0, startBin: this.options.startBin, stride: this.options.stride },
        }) - 1);
      }
    }
    const results = await runKlTasks(tasks, this.options.threads ?? ctx?.threads ?? defaultKlThreads());
    for (const [name, s] of this.stats) {
      const extras = { mode, nanCount: s.nan, infCount: s.inf };
      const unsignedOut = s.min >= 0 && quantizedDtype !== 'int8';
      const k = taskOf.get(name);
      const r: KlResult | undefined = k === undefined ? undefined : results[k];
      if (!r) {
        // Only zeros (or no finite value at all): the range is the single point 0.
        out[name] = { min: 0, max: 0, threshold: 0, divergence: null, numBins: 0, ...extras };
        continue;
      }
      const t = r.threshold;
      out[name] = {
        min: unsignedOut ? 0 : -t,
        max: t,
        threshold: t,
        divergence: Number.isFinite(r.divergence) ? r.divergence : null,
        numBins: tasks[k!]!.counts.length,
        ...extras,
      };
    }
    return out;
  }

  snapshot(): CollectorState {
    if (this.options.mode === 'tpumlir') throw new Error('entropy: tpumlir mode cannot be sharded (no snapshot/merge); run it without --shard');
    const tensors: Record<string, EncodedStat> = {};
    for (const [name, s] of this.stats) {
      const e: EncodedStat = {
        min: Number.isFinite(s.min) ? s.min : null,
        max: Number.isFinite(s.max) ? s.max : null,
        finite: s.finite, nan: s.nan, inf: s.inf, pendingZeros: s.pendingZeros, records: s.records.slice(),
      };
      if (s.signed) { e.th = s.signed.th; e.counts = encodeArray(s.signed.counts); }
      if (s.abs) { e.counts = encodeArray(s.abs.counts); e.edges = encodeArray(s.abs.edges); }
      tensors[name] = e;
    }
    const state: EntropyState = { version: 1, mode: this.options.mode, numBins: this.numBins, tensors };
    return state;
  }

  merge(state: CollectorState): void {
    if (this.options.mode === 'tpumlir') throw new Error('entropy: tpumlir mode cannot be sharded (no snapshot/merge); run it without --shard');
    const st = state as EntropyState;
    if (!st || st.version !== 1 || !st.tensors) throw new Error('entropy: not an entropy collector snapshot (expected { version: 1, tensors })');
    if (st.mode !== this.options.mode || st.numBins !== this.numBins) {
      throw new Error(`entropy: cannot merge a ${st.mode} snapshot with ${st.numBins} bins into a ${this.options.mode} collector with ${this.numBins}; shards must use the same options`);
    }
    for (const [name, e] of Object.entries(st.tensors)) {
      const other = decodeStat(e, this.options.mode);
      const s = this.stats.get(name);
      if (!s) { this.stats.set(name, other); continue; }
      s.min = Math.min(s.min, other.min);
      s.max = Math.max(s.max, other.max);
      s.finite += other.finite;
      s.nan += other.nan;
      s.inf += other.inf;
      if (this.options.mode === 'mxnet') {
        s.signed = mergeSignedHistograms(s.signed, s.pendingZeros, other.signed, other.pendingZeros, other.records);
        s.pendingZeros = s.signed ? 0 : s.pendingZeros + other.pendingZeros;
      } else {
        s.abs = mergeAbsHistograms(s.abs, s.pendingZeros, other.abs, other.pendingZeros, other.records);
        s.pendingZeros = s.abs ? 0 : s.pendingZeros + other.pendingZeros;
      }
      let top = s.records.length ? s.records[s.records.length - 1]! : 0;
      for (const r of other.records) if (r > top) { s.records.push(r); top = r; }
    }
  }
}

function addZeros(counts: Float64Array, bin: number, n: number): void {
  if (n) counts[bin] = counts[bin]! + n;
}

function decodeStat(e: EncodedStat, mode: EntropyMode): TensorStat {
  const s: TensorStat = {
    min: e.min ?? Infinity, max: e.max ?? -Infinity, finite: e.finite, nan: e.nan, inf: e.inf, pendingZeros: e.pendingZeros,
    records: e.records.slice(),
  };
  if (e.counts) {
    const counts = decodeFloat64(e.counts);
    if (mode === 'mxnet') s.signed = { counts, th: e.th!, edges: linspaceEdges32(-e.th!, e.th!, counts.length) };
    else s.abs = { counts, edges: Float32Array.from(decodeFloat64(e.edges!)) };
  }
  return s;
}

/** The `entropy` collector definition (KL-divergence calibration). */
export const entropyCollector = defineCollector<EntropyOptions>({
  name: 'entropy',
  apiVersion: COLLECTOR_API_VERSION,
  description: 'KL-divergence (entropy) calibration: MXNet/TVM 8001-bin signed histogram (default), TensorRT/modelopt 2048-bin |x| histogram, or tpu-mlir KLD',
  optionsSchema: {
    mode: { type: 'string', enum: ['mxnet', 'tensorrt', 'tpumlir'], description: 'mxnet: MXNet calibrate_entropy / TVM MinimizeKL; tensorrt: NVIDIA modelopt HistogramCalibrator entropy (GTC\'17); tpumlir: tpu-mlir run_calibration kl (before auto-tune)' },
    numBins: { type: 'integer', min: 3, max: 131072, description: 'histogram bins of the first batch (default 8001 in mxnet mode, odd; 2048 in tensorrt and tpumlir modes)' },
    numQuantizedBins: { type: 'integer', min: 3, max: 65535, description: 'mxnet: quantized bins (255); 2n+1 for non-negative tensors when quantizedDtype is uint8 or auto' },
    quantizedDtype: { type: 'string', enum: ['int8', 'uint8', 'auto'], description: 'auto: uint8 range (0, T) for non-negative tensors, as MXNet quantize_net' },
    startBin: { type: 'integer', min: 1, description: 'tensorrt: first candidate number of kept bins (128)' },
    stride: { type: 'integer', min: 1, description: 'tensorrt: candidate stride (1)' },
    threads: { type: 'integer', min: 1, max: 64, description: 'worker threads for the threshold searches (default: available parallelism, at most 4, or a collect worker\'s share of it; 1 = in-thread)' },
  },
  defaultOptions: { mode: 'mxnet', numQuantizedBins: 255, quantizedDtype: 'auto', startBin: 128, stride: 1 },
  create: (options) => new EntropyCollector(options),
});
