import * as ort from 'onnxruntime-node';
import type { TensorInfo, TuningContext, TuningRequest } from '../collector';
import type { Logger } from '../logger';
import { encodeModel, opsetVersion, type OnnxModel } from '../onnx/model';
import type { GraphIndex } from '../onnx/graph-index';
import type { OpenedData } from '../data';
import type { SessionSettings } from '../runner/session';
import { ModelError } from '../errors';
import { CalibrationError, messageOf } from '../errors';
import { buildOpModel, type OpModel } from './op-model';
import { buildTuneProbe, type TuneProbe } from './probe-model';
import { countSamples, createReferenceRunner, type SampleValues } from './reference-store';
import { distanceOf } from './fake-quant';
import { pointwiseOpOf, type PointwiseOp } from './pointwise-op';
import { createPointwiseKernel } from './pointwise-wasm';
import { absSum, pointwiseFits, pointwiseSums, type SampleTensor } from './pointwise-eval';
import { PointwiseWorker } from './pointwise-pool';
import { createStackKernel } from './stack-kernel';
import { copyWeights, isCopyOp } from './copy-op';

export interface TuningContextArgs {
  readonly model: OnnxModel;
  readonly index: GraphIndex;
  /** The calibration data; `batches()` starts over, the first tune samples are used. */
  readonly data: OpenedData;
  /** The tensors the tuning collector calibrates. */
  readonly tensors: readonly TensorInfo[];
  /** The tuning collector's options (`tuneNum`: how many samples to hold; default 5). */
  readonly options: Readonly<Record<string, unknown>>;
  readonly session?: SessionSettings;
  readonly logger: Logger;
  /**
   * Evaluate elementwise consumers (Add, Sub, Mul, Div, Relu, Clip) in JavaScript/WebAssembly
   * (pointwise.ts) rather than through probe models; default true. Same op outputs bit for bit,
   * the squared differences summed in another order.
   */
  readonly pointwise?: boolean;
  /**
   * Evaluate ops that only copy their inputs' values (Concat, nearest Resize, reshapes: copy-op.ts)
   * in closed form, Σ wᵢ·(xᵢ − fq(xᵢ))², rather than running them; default true. Same squared
   * differences, summed in another order.
   */
  readonly copies?: boolean;
  /**
   * Evaluate the elementwise pairs of each sample on a worker thread, beside the main thread's op
   * runs (pointwise-pool.ts); default true (in this thread when the worker script is not built).
   * The same sums bit for bit.
   */
  readonly pointwiseWorker?: boolean;
  /**
   * Run the candidates through in-graph probe models (probe-model.ts: fake quantization and the
   * double-precision distance in onnxruntime) instead of fake-quantizing and comparing in the stack
   * kernel (stack-kernel.ts) around a session of the bare op; default false. The reference the
   * tests compare with: the same op outputs, the squared differences summed in another order.
   */
  readonly probes?: boolean;
  /** Upper bound on the floats of one stacked candidate batch (inputs + outputs, the double-precision difference counted as 4 floats a value); default 8M (32 MB). */
  readonly maxBatchFloats?: number;
}

/** What tuning cost, for logs and benchmarks. */
export interface TuningStats {
  /** Samples held and consumer ops that can run. */
  samples: number;
  ops: number;
  /** One-op sessions created, op runs, and candidate evaluations (candidates × samples). */
  sessions: number;
  runs: number;
  evaluations: number;
  /** Time to run the model over the tune samples, to create sessions and to run ops, in ms. */
  referenceMs: number;
  sessionMs: number;
  runMs: number;
  /** Elementwise (tensor, consumer, sample) evaluations done by the pointwise kernel (WebAssembly, or its JavaScript twin; see pointwise.ts), and their time in ms. */
  pointwise: number;
  pointwiseMs: number;
  /** Time in the stack kernel (fake quantization, distances, copying values in) around the op runs, in ms. */
  stackMs: number;
  /** Stacked op runs whose distances the elementwise worker computed. */
  diffsInWorker: number;
  /** Values through the stack kernel: fake-quantized inputs and compared outputs, candidates × values. */
  stackValues: number;
  /** (tensor, copy op, sample) evaluations in closed form (copy-op.ts), and their time in ms. */
  copies: number;
  copiesMs: number;
}

export interface ReleasableTuningContext extends TuningContext {
  readonly stats: TuningStats;
  release(): Promise<void>;
}

const DEFAULT_MAX_BATCH_FLOATS = 8 * 1024 * 1024;

/**
 * Builds the tuning context: cuts every runnable consumer op of the tuned tensors out of the model
 * (weights fake-quantized int8 per channel), runs the FP32 model once over the first `tuneNum`
 * samples keeping only the consumers' inputs and outputs, and evaluates candidate thresholds:
 * elementwise consumers in the pointwise kernel (pointwise.ts), ops that only copy their input in
 * closed form (copy-op.ts), every other op by one onnxruntime session of the bare op, reused across
 * tensors and candidates, with the candidates stacked along dim 0 where the op allows; the stack
 * kernel (stack-kernel.ts) fake-quantizes its input and compares its output in place.
 */
export async function createTuningContext(args: TuningContextArgs): Promise<ReleasableTuningContext> {
  const { model, index, logger } = args;
  const tuneNum = typeof args.options.tuneNum === 'number' ? args.options.tuneNum : 5;
  const maxBatchFloats = args.maxBatchFloats ?? DEFAULT_MAX_BATCH_FLOATS;
  const stats: TuningStats = { samples: 0, ops: 0, sessions: 0, runs: 0, evaluations: 0, referenceMs: 0, sessionMs: 0, runMs: 0, pointwise: 0, pointwiseMs: 0, stackMs: 0, diffsInWorker: 0, stackValues: 0, copies: 0, copiesMs: 0 };
  const nodeIndex = new Map(index.nodeNames.map((n, i) => [n, i]));
  /** The in-graph probe models (`probes`) need opset 8 (Expand, broadcasting Max/Min). */
  const inGraph = args.probes === true && opsetVersion(model) >= 8;

  const ops = new Map<string, OpModel>();
  /** Consumers JavaScript evaluates bit for bit (elementwise float32 ops): no probe session for them. */
  const pointwise = new Map<string, PointwiseOp>();
  const kernel = createPointwiseKernel();
  const stack = createStackKernel();
  /** Copy ops (closed form) by node name. */
  const copyOps = new Set<string>();
  /** The elementwise pairs' worker thread (pointwise-pool.ts), started on first use. */
  let worker: PointwiseWorker | undefined;
  /** The sample's tensors the worker reads (see distancesMany). */
  let shared: SharedArrayBuffer | undefined;
  /** While a sample is evaluated with the worker: the op outputs' references in shared memory, and the distances out. */
  /** Keys of the (pair, sample) references the worker holds for distances. */
  let diffKeys = 0;
  /** While a sample is evaluated with the worker: its distance requests out, and which pairs' references it has. */
  let offload: { pending: { p: Promise<void>; bytes: number }[]; inflight: number; sent: WeakSet<object>; keyOf: (buf: object) => number } | undefined;
  const skipped = new Set<string>();
  const consumersOf = new Map<string, { name: string; opType: string }[]>();
  for (const t of args.tensors) {
    const list: { name: string; opType: string }[] = [];
    for (const c of index.tensors.get(t.name)?.consumers ?? []) {
      if (!ops.has(c.name) && !skipped.has(c.name)) {
        const built = buildOpModel(model, index, nodeIndex.get(c.name)!);
        if ('skip' in built) {
          skipped.add(c.name);
          logger.debug(`auto-tune: consumer ${c.name} (${c.opType}) of ${t.name} is not tuned: it ${built.skip}`);
          continue;
        }
        ops.set(c.name, built);
        const pw = args.pointwise !== false ? pointwiseOpOf(model, index, nodeIndex.get(c.name)!) : undefined;
        if (pw) pointwise.set(c.name, pw);
        else if (args.copies !== false && isCopyOp(index.nodes[nodeIndex.get(c.name)!]!)) copyOps.add(c.name);
      }
      if (ops.has(c.name)) list.push(c);
    }
    consumersOf.set(t.name, list);
  }
  stats.ops = ops.size;
  const needed = new Set<string>();
  for (const op of ops.values()) for (const n of [...op.activationInputs, ...op.outputs]) needed.add(n);

  const numSamples = ops.size ? await countSamples(args.data, tuneNum) : 0;
  stats.samples = numSamples;
  const reference = await createReferenceRunner({ model, index, data: args.data, needed, numSamples, session: args.session, where: 'auto-tune reference pass' });
  /** The tune samples one at a time; the time spent in the reference model is counted apart. */
  async function* sweep(): AsyncGenerator<SampleValues> {
    const it = reference.samples();
    for (;;) {
      const t0 = performance.now();
      const r = await it.next();
      stats.referenceMs += performance.now() - t0;
      if (r.done) return;
      yield r.value;
    }
  }

  const sessions = new Map<string, Promise<ort.InferenceSession>>();
  const unbatchable = new Set<string>();
  const sessionFor = (op: OpModel): Promise<ort.InferenceSession> => {
    let s = sessions.get(op.name);
    if (!s) {
      const ts = performance.now();
      s = createOpSession(encodeModel(op.model), `auto-tune op ${op.name} (${op.opType})`, args.session)
        .then((x) => { stats.sessions++; stats.sessionMs += performance.now() - ts; return x; });
      sessions.set(op.name, s);
    }
    return s;
  };
  const run = async (session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, fetches: Record<string, ort.Tensor>): Promise<ort.InferenceSession.OnnxValueMapType> => {
    const tr = performance.now();
    try {
      return await session.run(feeds, fetches);
    } finally {
      stats.runs++;
      stats.runMs += performance.now() - tr;
    }
  };

  /**
   * One (pair, sample)'s arrays in the stack kernel, for chunks of up to `kc` candidates: the tuned
   * tensor's FP32 values, its stacked fake-quantized candidates, the other inputs repeated `kc`
   * times, the op's stacked outputs and the FP32 references. The values that do not change from
   * chunk to chunk are copied in once.
   */
  const stackFor = (op: OpModel, tensor: string, sample: SampleValues, kc: number) => {
    const x = sample.get(tensor)!;
    const others = op.activationInputs.filter((n) => n !== tensor).map((name) => ({ name, v: sample.get(name)! }));
    const refs = op.outputs.map((o) => sample.get(o)!);
    const n = x.data.length;
    // Batchable ops have float inputs only (isBatchable): the others' FP32 values repeated; k = 1 feeds them as they are.
    const stackOthers = kc > 1 && op.batchable;
    const arrays = stack.arrays([n, kc * n, ...others.map((o) => (stackOthers ? kc * o.v.data.length : 0)), ...refs.map((r) => kc * r.data.length), ...refs.map((r) => r.data.length)], kc);
    const xs = arrays[0]!;
    xs.set(x.data as Float32Array);
    const reps = arrays.slice(2, 2 + others.length);
    if (stackOthers) others.forEach((o, i) => { for (let j = 0; j < kc; j++) reps[i]!.set(o.v.data as Float32Array, j * o.v.data.length); });
    const refViews = arrays.slice(2 + others.length + refs.length);
    refs.forEach((r, i) => refViews[i]!.set(r.data as Float32Array));
    const l1 = op.outputs.reduce((a, o) => a + l1Of(sample, o), 0);
    return { x, xs, xq: arrays[1]!, others, reps, refs, outs: arrays.slice(2 + others.length, 2 + others.length + refs.length), refViews, l1 };
  };

  /**
   * Adds the distances of one sample for candidates [k0, k0+k) into `sums`, the op run by
   * onnxruntime once on the candidates stacked on dim 0 (k = 1: the sample's own shapes), the
   * fake quantization and the distance in the stack kernel, in place in its arrays; false when
   * the op does not run stacked (an error, or an output that is not k times the reference along
   * dim 0: onnxruntime checks the pre-allocated output's shape).
   */
  const stacked = async (session: ort.InferenceSession, op: OpModel, tensor: string, buf: ReturnType<typeof stackFor>, scales: Float32Array, k0: number, k: number, sums: number[]): Promise<boolean> => {
    const t0 = performance.now();
    const n = buf.xs.length;
    const xq = buf.xq.subarray(0, k * n);
    stack.quantize(buf.xs, scales.subarray(k0, k0 + k), xq);
    const stackedDims = (dims: readonly number[]): number[] => (k > 1 ? [dims[0]! * k, ...dims.slice(1)] : [...dims]);
    const feeds: Record<string, ort.Tensor> = { [tensor]: new ort.Tensor('float32', xq, stackedDims(buf.x.dims)) };
    buf.others.forEach((o, i) => {
      feeds[o.name] = k === 1 ? o.v : new ort.Tensor('float32', buf.reps[i]!.subarray(0, k * o.v.data.length), stackedDims(o.v.dims));
    });
    const outs = buf.outs.map((a, i) => a.subarray(0, k * buf.refs[i]!.data.length));
    const fetches: Record<string, ort.Tensor> = {};
    op.outputs.forEach((o, i) => { fetches[o] = new ort.Tensor('float32', outs[i]!, stackedDims(buf.refs[i]!.dims)); });
    stats.stackMs += performance.now() - t0;
    let res: ort.InferenceSession.OnnxValueMapType;
    try {
      res = await run(session, feeds, fetches);
    } catch (err) {
      if (k === 1) throw new CalibrationError(`auto-tune: ${op.name} (${op.opType}) failed on a fake-quantized ${tensor}: ${messageOf(err)}`, { cause: err });
      logger.debug(`auto-tune: ${op.name} (${op.opType}) does not run with candidates stacked on dim 0 (${messageOf(err)}); running one candidate at a time`);
      return false;
    }
    const t1 = performance.now();
    stats.stackValues += xq.length + outs.reduce((a, o) => a + o.length, 0);
    // onnxruntime-node hands the outputs back once more in fresh buffers: with the elementwise
    // worker running, those move there and it computes the distances (the same kernel, so the same
    // sums), while this thread goes on with the next run. The main thread was the bottleneck (op
    // runs and the stack kernel ~3.3 s per detector sample, the worker's elementwise pairs ~1.8 s):
    // A/B on 16 detector scenes, 26.4–27.0 s instead of 28.4–30.3 s, peak RSS no higher.
    // QCAL_TUNE_OFFLOAD=0 keeps the distances here (for such A/B runs).
    const copies = op.outputs.map((o) => res[o]?.data);
    if (offload && worker && process.env.QCAL_TUNE_OFFLOAD !== '0' && buf.refs.every((r) => r.type === 'float32') && copies.every((c) => c instanceof Float32Array && c.buffer instanceof ArrayBuffer && c.byteOffset === 0 && c.byteLength === c.buffer.byteLength)) {
      const outsMoved = copies as Float32Array[];
      const bytes = outsMoved.reduce((a, c) => a + c.byteLength, 0);
      const l1 = buf.l1;
      // The references go with the pair's first chunk the worker sees (copied), and stay there for its others.
      const first = !offload.sent.has(buf);
      offload.sent.add(buf);
      const refs = first ? buf.refs.map((r) => ({ type: r.type, data: r.data, dims: r.dims })) : undefined;
      const p = worker.diff(offload.keyOf(buf), refs, outsMoved, k).then((sq) => {
        for (let j = 0; j < k; j++) sums[k0 + j]! += distanceOf({ sq: sq[j]!, l1 });
        stats.diffsInWorker++;
      });
      p.catch(() => undefined); // awaited at the end of the sample
      offload.pending.push({ p, bytes });
      offload.inflight += bytes;
      // Bounded: at most ~64 MB of outputs waiting for the worker.
      while (offload.inflight > 64 * 1024 * 1024) {
        const oldest = offload.pending.shift()!;
        await oldest.p;
        offload.inflight -= oldest.bytes;
      }
      stats.stackMs += performance.now() - t1;
      return true;
    }
    const sq = new Float64Array(k);
    buf.refViews.forEach((ref, i) => stack.squaredErrors(ref, outs[i]!, sq));
    for (let j = 0; j < k; j++) sums[k0 + j]! += distanceOf({ sq: sq[j]!, l1: buf.l1 });
    stats.stackMs += performance.now() - t1;
    return true;
  };

  /** Copy-op weights per (op, tensor, input shapes): undefined when the op turned out not to copy. */
  const copyWeightsCache = new Map<string, Float32Array | undefined>();
  /**
   * A copy op in closed form (copy-op.ts): every candidate in one pass over the tuned tensor;
   * false when the op is not a pure copy of it (the op then runs as any other).
   */
  const evaluateCopy = async (op: OpModel, tensor: string, sample: SampleValues, scales: Float32Array, sums: number[]): Promise<boolean> => {
    if (op.outputs.length !== 1) return false;
    const key = [op.name, tensor, ...op.activationInputs.map((n) => sample.get(n)?.dims.join('x'))].join('\u0000');
    let w = copyWeightsCache.get(key);
    if (!copyWeightsCache.has(key)) {
      const ts = performance.now();
      w = await copyWeights(await sessionFor(op), op.activationInputs, tensor, op.outputs[0]!, sample);
      stats.copiesMs += performance.now() - ts;
      copyWeightsCache.set(key, w);
      if (!w) logger.debug(`auto-tune: ${op.name} (${op.opType}) does not copy ${tensor} as is; running it`);
    }
    if (!w) return false;
    const t0 = performance.now();
    const x = sample.get(tensor)!.data as Float32Array;
    const [xs, ws] = stack.arrays([x.length, x.length], scales.length) as [Float32Array, Float32Array];
    xs.set(x);
    ws.set(w);
    const sq = new Float64Array(scales.length);
    stack.copyErrors(xs, ws, scales, sq);
    const l1 = l1Of(sample, op.outputs[0]!);
    for (let j = 0; j < scales.length; j++) sums[j]! += distanceOf({ sq: sq[j]!, l1 });
    stats.copies++;
    stats.copiesMs += performance.now() - t0;
    return true;
  };

  // Probe models: the op with the fake quantization and the distance in-graph (see buildTuneProbe),
  // one session per (op, tuned input, stacked or not), created lazily and reused across samples.
  const probes = new Map<string, Promise<{ probe: TuneProbe; session: ort.InferenceSession }>>();
  const probeFor = (op: OpModel, tensor: string, stack: boolean): Promise<{ probe: TuneProbe; session: ort.InferenceSession }> => {
    const key = `${op.name}\u0000${tensor}\u0000${stack}`;
    let p = probes.get(key);
    if (!p) {
      const ts = performance.now();
      const probe = buildTuneProbe(op, tensor, stack);
      p = createOpSession(encodeModel(probe.model), `auto-tune op ${op.name} (${op.opType})`, args.session)
        .then((session) => { stats.sessions++; stats.sessionMs += performance.now() - ts; return { probe, session }; });
      probes.set(key, p);
    }
    return p;
  };
  const i64 = (xs: readonly number[]): ort.Tensor => new ort.Tensor('int64', BigInt64Array.from(xs, (x) => BigInt(x)), [xs.length]);
  /** ‖ref‖₁ of each output of the op, per sample (the same for every candidate). */
  const refL1 = new WeakMap<SampleValues, Map<string, number>>();
  const l1Of = (sample: SampleValues, o: string): number => {
    let m = refL1.get(sample);
    if (!m) refL1.set(sample, (m = new Map()));
    let v = m.get(o);
    if (v === undefined) {
      v = absSum(sample.get(o)!.data as Float32Array);
      m.set(o, v);
    }
    return v;
  };

  /**
   * Distances of one sample for candidates [k0, k0+k) through the probe (stacked on dim 0, or k = 1);
   * false when a stacked run fails or its output does not scale by k (the op does not stack).
   */
  const probed = async (op: OpModel, tensor: string, sample: SampleValues, thresholds: readonly number[], k0: number, k: number, stack: boolean, sums: number[]): Promise<boolean> => {
    const { probe, session } = await probeFor(op, tensor, stack);
    const x = sample.get(tensor)!;
    const feeds: Record<string, ort.Tensor> = {
      [probe.xInput]: x,
      [probe.scaleInput]: new ort.Tensor('float32', Float32Array.from({ length: k }, (_, j) => Math.fround(127 / thresholds[k0 + j]!)), [k, 1]),
      [probe.shapeInput]: i64(stack ? [-1, ...x.dims.slice(1)] : x.dims),
    };
    for (const name of op.activationInputs) {
      if (name === tensor) continue;
      const v = sample.get(name)!;
      if (!stack) { feeds[name] = v; continue; }
      const o = probe.others.find((p) => p.name === name)!;
      feeds[o.input] = v;
      feeds[o.expandShape] = i64([k, v.data.length]);
      feeds[o.reshape] = i64([-1, ...v.dims.slice(1)]);
    }
    for (const o of probe.outputs) {
      const ref = sample.get(o.name)!;
      feeds[o.ref] = ref;
      feeds[o.rows] = i64([-1, ref.data.length]);
    }
    let out: ort.InferenceSession.OnnxValueMapType;
    const tr = performance.now();
    try {
      out = await session.run(feeds, probe.outputs.flatMap((o) => [o.sq, o.shape]));
    } catch (err) {
      if (!stack) throw new CalibrationError(`auto-tune: ${op.name} (${op.opType}) failed on a fake-quantized ${tensor}: ${messageOf(err)}`, { cause: err });
      logger.debug(`auto-tune: ${op.name} (${op.opType}) does not run with candidates stacked on dim 0 (${messageOf(err)}); running one candidate at a time`);
      return false;
    } finally {
      stats.runs++;
      stats.runMs += performance.now() - tr;
    }
    for (const o of probe.outputs) {
      const ref = sample.get(o.name)!;
      const got = Array.from(out[o.shape]!.data as BigInt64Array, Number);
      const n = got.reduce((a, b) => a * b, 1);
      if (!stack) {
        if (n !== ref.data.length) throw new CalibrationError(`auto-tune: ${op.name} (${op.opType}) gave ${got.join('x')} for output ${o.name}, the model gave ${ref.dims.join('x')}`);
      } else if (got[0] !== ref.dims[0]! * k || got.length !== ref.dims.length || got.some((d, i) => i > 0 && d !== ref.dims[i])) {
        logger.debug(`auto-tune: ${op.name} (${op.opType}) output ${o.name} does not stack on dim 0 (${got.join('x')} for ${k} × ${ref.dims.join('x')}); running one candidate at a time`);
        return false;
      }
    }
    for (let j = 0; j < k; j++) {
      const s = { sq: 0, l1: 0 };
      for (const o of probe.outputs) {
        s.sq += (out[o.sq]!.data as Float64Array)[j]!;
        s.l1 += l1Of(sample, o.name);
      }
      sums[k0 + j]! += distanceOf(s);
    }
    return true;
  };

  /**
   * An elementwise consumer in JavaScript: every candidate in one pass (pointwise.ts); false when
   * the shapes do not broadcast to the reference output's (the probe takes over).
   */
  const evaluatePointwise = (pw: PointwiseOp, tensor: string, sample: SampleValues, thresholds: readonly number[], sums: number[]): boolean => {
    const t0 = performance.now();
    const sq = pointwiseSums(kernel, { op: pw, tensor, scales: Float32Array.from(thresholds, (t) => Math.fround(127 / t)) }, (n) => sample.get(n));
    if (!sq) return false;
    const l1 = l1Of(sample, pw.output);
    for (let j = 0; j < thresholds.length; j++) sums[j]! += distanceOf({ sq: sq[j]!, l1 });
    stats.pointwise++;
    stats.pointwiseMs += performance.now() - t0;
    return true;
  };

  /** Adds one sample's distances for every candidate of `req` into `sums`. */
  const evaluateSample = async (req: TuningRequest, op: OpModel, sample: SampleValues, sums: number[], skipPointwise = false): Promise<void> => {
    const { tensor, thresholds } = req;
    const pw = skipPointwise ? undefined : pointwise.get(op.name);
    if (pw && evaluatePointwise(pw, tensor, sample, thresholds, sums)) return;
    const scales = Float32Array.from(thresholds, (t) => Math.fround(127 / t));
    if (copyOps.has(op.name) && await evaluateCopy(op, tensor, sample, scales, sums)) return;
    const session = inGraph ? undefined : await sessionFor(op);
    const floats = [...op.activationInputs, ...op.outputs].reduce((a, n) => a + (sample.get(n)?.data.length ?? 0), 0);
    // Chunks as the in-graph probes had them (their double-precision difference cost about four
    // floats a value more), so that onnxruntime runs the op on the same batches.
    const outFloats = op.outputs.reduce((a, n) => a + (sample.get(n)?.data.length ?? 0), 0);
    const chunk = Math.max(1, Math.floor(maxBatchFloats / Math.max(1, floats + 4 * outFloats)));
    const t0 = performance.now();
    const buf = inGraph ? undefined : stackFor(op, tensor, sample, op.batchable && !unbatchable.has(op.name) ? Math.min(chunk, thresholds.length) : 1);
    stats.stackMs += performance.now() - t0;
    let k0 = 0;
    while (k0 < thresholds.length) {
      const k = Math.min(chunk, thresholds.length - k0);
      // A chunk of one still runs stacked (in-graph: the same probe session for every chunk).
      if (op.batchable && !unbatchable.has(op.name)) {
        if (inGraph ? await probed(op, tensor, sample, thresholds, k0, k, true, sums) : await stacked(session!, op, tensor, buf!, scales, k0, k, sums)) { k0 += k; continue; }
        unbatchable.add(op.name);
      }
      if (inGraph) await probed(op, tensor, sample, thresholds, k0, 1, false, sums);
      else await stacked(session!, op, tensor, buf!, scales, k0, 1, sums);
      k0++;
    }
  };

  const distancesMany = async (requests: readonly TuningRequest[]): Promise<number[][]> => {
    const resolved = requests.map((req) => {
      const op = ops.get(req.consumer);
      if (!op || !op.activationInputs.includes(req.tensor)) {
        throw new CalibrationError(`auto-tune: "${req.consumer}" is not a runnable consumer of "${req.tensor}"; ask ctx.tuning.consumers("${req.tensor}") first`);
      }
      return { req, op, sums: req.thresholds.map(() => 0) };
    });
    if (!resolved.some((r) => r.req.thresholds.length)) return resolved.map((r) => r.sums);
    let n = 0;
    const t0 = performance.now();
    let lastLine = t0;
    const pairs = resolved.filter((r) => r.req.thresholds.length).length;
    // The elementwise pairs go to a worker thread, if there is one (started on first use).
    const inWorker = resolved.filter((r) => r.req.thresholds.length && pointwise.has(r.op.name));
    if (inWorker.length && args.pointwiseWorker !== false && process.env.QCAL_TUNE_WORKER !== '0') worker ??= PointwiseWorker.start();
    // Every probe session before the first run: sessions are long-lived, the stacked candidate
    // batches short-lived and large. Created between runs, the sessions' small allocations pinned
    // the freed batches in the heap (measured: RSS grew ~10 MB per session, 5.7 GB on the
    // recognizer); created first, the batches reuse the same memory.
    {
      const ts = performance.now();
      for (const r of resolved) {
        if (!r.req.thresholds.length || pointwise.has(r.op.name)) continue;
        if (inGraph && !copyOps.has(r.op.name)) await probeFor(r.op, r.req.tensor, r.op.batchable);
        else await sessionFor(r.op);
      }
      const inJs = resolved.filter((r) => r.req.thresholds.length && pointwise.has(r.op.name)).length;
      const copies = resolved.filter((r) => r.req.thresholds.length && copyOps.has(r.op.name)).length;
      logger.info(`auto-tune: ${sessions.size + probes.size} op sessions for ${pairs - inJs} (tensor, consumer) pairs in ${((performance.now() - ts) / 1000).toFixed(1)} s (${copies} of them copy ops, in closed form); ${inJs} elementwise pairs evaluated in ${kernel.wasm ? 'WebAssembly' : 'JavaScript'}${inJs && worker ? ' on a worker thread' : ''}`);
    }
    const tasks = worker ? inWorker.map((r) => ({ op: pointwise.get(r.op.name)!, tensor: r.req.tensor, scales: Float32Array.from(r.req.thresholds, (t) => Math.fround(127 / t)) })) : [];
    for await (const sample of sweep()) {
      n++;
      let k = 0;
      const progress = (): void => {
        // Progress, also in logs without a terminal: at most a line every 10 s, and one per sample.
        const now = performance.now();
        if (now - lastLine >= 10_000 || k === pairs) {
          lastLine = now;
          logger.info(`auto-tune: sample ${n}/${numSamples}: ${k}/${pairs} (tensor, consumer) pairs, ${((now - t0) / 1000).toFixed(0)} s`);
        }
      };
      let pending: ReturnType<PointwiseWorker['run']> | undefined;
      /** The elementwise pairs the worker answers for this sample (the others, whose shapes do not fit, run here). */
      let sent: boolean[] = [];
      if (worker && tasks.length) {
        sent = tasks.map((t) => pointwiseFits(t, (name) => sample.get(name)));
        // The tensors the worker reads: those only elementwise pairs need move to it (their buffers
        // transferred, dropped here); those this thread needs too are copied once into memory the
        // worker shares, reused from sample to sample (the worker is done with it before the next
        // sample). Structured clones of them all, ~350 MB per detector sample, doubled the peak.
        const names = new Set<string>();
        tasks.forEach((t, i) => { if (sent[i]) for (const name of [...t.op.inputs.flatMap((inp) => ('activation' in inp ? [inp.activation] : [])), t.op.output]) names.add(name); });
        const here = new Set<string>();
        for (const r of resolved) if (r.req.thresholds.length && !(pointwise.has(r.op.name) && sent[inWorker.indexOf(r)])) for (const nm of [...r.op.activationInputs, ...r.op.outputs]) here.add(nm);
        const tensors: Record<string, SampleTensor> = {};
        const transfer: ArrayBuffer[] = [];
        const moved: string[] = [];
        const copied: { name: string; v: ort.Tensor }[] = [];
        for (const name of names) {
          const v = sample.get(name)!;
          const d = v.data as Float32Array;
          if (!here.has(name) && d.buffer instanceof ArrayBuffer && d.byteOffset === 0 && d.byteLength === d.buffer.byteLength && !transfer.includes(d.buffer)) {
            tensors[name] = { type: v.type, data: d, dims: v.dims };
            transfer.push(d.buffer);
            moved.push(name);
          } else {
            copied.push({ name, v });
          }
        }
        const floats = copied.reduce((a, c) => a + c.v.data.length, 0);
        if (!shared || shared.byteLength < 4 * floats) shared = new SharedArrayBuffer(4 * floats);
        let at = 0;
        for (const { name, v } of copied) {
          const view = new Float32Array(shared, 4 * at, v.data.length);
          view.set(v.data as Float32Array);
          tensors[name] = { type: v.type, data: view, dims: v.dims };
          at += v.data.length;
        }
        const keys = new WeakMap<object, number>();
        offload = { pending: [], inflight: 0, sent: new WeakSet(), keyOf: (b) => { let x = keys.get(b); if (x === undefined) keys.set(b, (x = ++diffKeys)); return x; } };
        pending = worker.run(tensors, tasks.filter((_, i) => sent[i]), transfer);
        // Detached now: out of the sample, so that nothing here reads them.
        for (const name of moved) (sample as Map<string, ort.Tensor>).delete(name);
      }
      for (const r of resolved) {
        if (!r.req.thresholds.length || (pending && pointwise.has(r.op.name) && sent[inWorker.indexOf(r)])) continue;
        await evaluateSample(r.req, r.op, sample, r.sums);
        k++;
        progress();
      }
      if (offload) {
        for (const { p } of offload.pending) await p;
        offload = undefined;
      }
      if (pending) {
        const done = await pending;
        stats.pointwiseMs += done.ms;
        let at = 0;
        for (let i = 0; i < inWorker.length; i++) {
          if (!sent[i]) continue;
          const r = inWorker[i]!;
          const sq = done.sums[at++];
          if (!sq) throw new CalibrationError(`auto-tune: the elementwise worker gave no answer for ${r.req.tensor} → ${r.op.name}, whose shapes fit`);
          const l1 = done.l1[pointwise.get(r.op.name)!.output]!;
          for (let j = 0; j < sq.length; j++) r.sums[j]! += distanceOf({ sq: sq[j]!, l1 });
          stats.pointwise++;
          k++;
        }
        progress();
      }
    }
    for (const r of resolved) stats.evaluations += r.req.thresholds.length * n;
    return resolved.map((r) => r.sums.map((s) => (n ? s / n : 0)));
  };

  const ctx: ReleasableTuningContext = {
    stats,
    numSamples,
    consumers: (tensor) => consumersOf.get(tensor) ?? [],
    distancesMany,
    async distances(tensor, consumer, thresholds) {
      return (await distancesMany([{ tensor, consumer, thresholds }]))[0]!;
    },
    async release() {
      const all = [...await Promise.allSettled(sessions.values()), ...(await Promise.allSettled(probes.values())).map((r) => (r.status === 'fulfilled' ? { status: r.status, value: r.value.session } as const : r))];
      sessions.clear();
      probes.clear();
      await reference.release();
      await worker?.close();
      worker = undefined;
      shared = undefined;
      for (const r of all) if (r.status === 'fulfilled') await r.value.release();
      logger.info(`auto-tune: ${stats.samples} tune samples, ${stats.ops} consumer ops, ${stats.evaluations} candidate evaluations in ${stats.runs} op runs; reference model ${Math.round(stats.referenceMs)} ms, op sessions ${Math.round(stats.sessionMs)} ms, op runs ${Math.round(stats.runMs)} ms (stack kernel around them ${Math.round(stats.stackMs)} ms for ${(stats.stackValues / 1e6).toFixed(0)} M values; ${stats.diffsInWorker} runs' distances off the main thread), ${stats.pointwise} elementwise evaluations in ${kernel.wasm ? 'WebAssembly' : 'JavaScript'} ${Math.round(stats.pointwiseMs)} ms, ${stats.copies} copy-op evaluations in closed form ${Math.round(stats.copiesMs)} ms`);
    },
  };
  return ctx;
}

/**
 * A session for one cut-out op. Without onnxruntime's CPU memory arena and memory patterns: there
 * is one session per consumer op (hundreds), and an arena per session would keep the peak of its
 * stacked candidate batch for the whole tuning (measured: several GB on the PP-OCRv4 recognizer).
 */
async function createOpSession(bytes: Uint8Array, where: string, settings: SessionSettings = {}): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, {
      graphOptimizationLevel: settings.graphOptimizationLevel ?? 'all',
      executionMode: 'sequential',
      enableCpuMemArena: false,
      enableMemPattern: false,
      ...(settings.intraOpNumThreads ? { intraOpNumThreads: settings.intraOpNumThreads } : {}),
      // Hundreds of sessions, each with its own intra-op pool, run one after another: threads that
      // spin-wait between runs only burn the core the running session needs.
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    });
  } catch (err) {
    throw new ModelError(`${where}: onnxruntime could not load the op model: ${messageOf(err)}`, { cause: err });
  }
}
