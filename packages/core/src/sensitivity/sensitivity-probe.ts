import * as ort from 'onnxruntime-node';
import { ModelError, messageOf } from '../errors';
import { restrictSwitchModel } from './switch-subset';
import { encodeModel, type OnnxModel } from '../onnx/model';
import type { QdqOptions } from '../qdq/build-qdq';
import { createSession, type SessionSettings } from '../runner/session';
import type { CalibrationTable } from '../table';
import { runEvalSet, type EvalSet } from './eval-set';
import type { FidelityMetric, ModelOutputs } from './fidelity-metric';
import { buildSwitchModel, SWITCH_INPUT, type SwitchModel } from './switch-model';
import { splitAtSwitches, type SwitchSplit } from './split-at-switches';
import { runBatch } from '../runner/session';
import type { FeedTensor } from '../tensor';
import { DataError } from '../errors';

/**
 * Scores any subset of quantized activations against cached FP32 outputs with one session (the
 * switch model). `score(on)` runs the evaluation set once: cost = evaluation batches × one
 * inference of the model with its Q/DQ simulated in float.
 */
export interface SensitivityProbe {
  readonly switches: readonly string[];
  readonly switchModel: SwitchModel;
  /** FP32 reference outputs of the evaluation set. */
  readonly reference: readonly ModelOutputs[];
  /** The metric with exactly the tensors in `on` quantized, with the weights of the ops reading them. */
  score(on: ReadonlySet<string>): Promise<number>;
  /**
   * Makes the following scores cheaper when only the switches in `group` vary and every other one
   * is `rest`: they run a model with just those switches (see restrictSwitchModel). Scores of
   * other masks still run the full switch model. Same values either way.
   */
  focus(group: readonly string[], rest: 'off' | 'on'): Promise<void>;
  /** Inferences run so far (reference pass excluded). */
  readonly inferences: number;
  release(): Promise<void>;
}

export async function createSensitivityProbe(args: {
  model: OnnxModel; bytes: Uint8Array; where: string; table: CalibrationTable; evalSet: EvalSet; metric: FidelityMetric;
  qdq?: QdqOptions; session?: SessionSettings; reference?: readonly ModelOutputs[];
  /** Focus runs the block's prefix once per batch and the rest per mask (default true; see splitAtSwitches). */
  splitPrefix?: boolean;
}): Promise<SensitivityProbe> {
  const outputs = args.model.graph!.output.map((o) => o.name);
  let reference = args.reference;
  if (!reference) {
    const fp = await createSession(args.bytes, args.where, args.session);
    try { reference = await runEvalSet(fp, args.evalSet, outputs, args.where); } finally { await fp.release(); }
  }
  const sw = buildSwitchModel(args.model, args.table, args.qdq);
  const where = `${args.where} (sensitivity switch model)`;
  let full: Promise<ort.InferenceSession> | undefined;
  /** With `split`: the session runs the split's suffix, fed `cached` (per evaluation batch: the prefix's outputs). */
  let focused: { group: Set<string>; rest: 'off' | 'on'; session: ort.InferenceSession; split?: SwitchSplit; cached?: Record<string, ort.Tensor>[] } | undefined;
  let inferences = 0;
  const ref = reference;
  const run = async (session: ort.InferenceSession, mask: Uint8Array): Promise<number> => {
    const out = await runEvalSet(session, args.evalSet, outputs, `${args.where} (switch model)`, { [SWITCH_INPUT]: { type: 'bool', data: mask, dims: [mask.length] } });
    inferences += args.evalSet.batches.length;
    return args.metric.metric(ref, out);
  };
  /** One mask through a split: the suffix per batch, the prefix's outputs from the cache. */
  const runSplit = async (f: NonNullable<typeof focused>, mask: Uint8Array): Promise<number> => {
    const split = f.split!;
    const res: ModelOutputs[] = [];
    for (let i = 0; i < args.evalSet.batches.length; i++) {
      const batch = args.evalSet.batches[i]!;
      const cached = f.cached![i]!;
      const feeds: Record<string, FeedTensor> = { [SWITCH_INPUT]: { type: 'bool', data: mask, dims: [mask.length] } };
      for (const inp of split.suffix.graph!.input) if (inp.name !== SWITCH_INPUT) feeds[inp.name] = (batch[inp.name] ?? cached[inp.name]) as FeedTensor;
      const r = await runBatch(f.session, feeds, split.suffixOutputs, `${args.where} (switch model suffix), evaluation batch ${i + 1}`);
      const o: Record<string, ModelOutputs[string]> = {};
      for (const n of outputs) {
        const t = r[n] ?? cached[n];
        if (!t) throw new DataError(`${args.where}: output "${n}" missing from the inference result`);
        o[n] = { data: Float32Array.from(t.data as Float32Array), dims: [...t.dims] };
      }
      res.push(o);
    }
    inferences += args.evalSet.batches.length;
    return args.metric.metric(ref, res);
  };
  const release = async (): Promise<void> => {
    const f = focused;
    focused = undefined;
    await f?.session.release();
  };
  return {
    switches: sw.switches,
    switchModel: sw,
    reference: ref,
    get inferences() { return inferences; },
    async focus(group, rest) {
      await release();
      const keep = new Set(group);
      const restricted = restrictSwitchModel(sw, keep, rest);
      // What lies before the block's first switch is the same for every mask the focus serves (the
      // FP32 model with the others off, the all-quantized one with them on): compute it once per
      // evaluation batch and run only the rest per mask. The cut falls at the switches' Where
      // nodes, across which onnxruntime fuses nothing anyway (measured on the recognizer: gain
      // values identical, losses within 5e-9).
      const split = args.splitPrefix !== false ? splitAtSwitches(restricted) : undefined;
      if (split) {
        const pre = await createSubsetSession(encodeModel(split.prefix), where, rest, args.session);
        const cached: Record<string, ort.Tensor>[] = [];
        try {
          for (let i = 0; i < args.evalSet.batches.length; i++) {
            const batch = args.evalSet.batches[i]!;
            const feeds = Object.fromEntries(split.prefix.graph!.input.map((inp) => [inp.name, batch[inp.name]!]));
            cached.push(await runBatch(pre, feeds, [...split.frontier, ...split.fixedOutputs], `${where} (prefix), evaluation batch ${i + 1}`) as Record<string, ort.Tensor>);
          }
        } finally {
          await pre.release();
        }
        inferences += args.evalSet.batches.length;
        const session = await createSubsetSession(encodeModel(split.suffix), where, rest, args.session);
        focused = { group: keep, rest, session, split, cached };
        return;
      }
      const session = await createSubsetSession(encodeModel(restricted), where, rest, args.session);
      focused = { group: keep, rest, session };
    },
    async score(on) {
      const mask = Uint8Array.from(sw.switches, (t) => (on.has(t) ? 1 : 0));
      const f = focused;
      if (f && sw.switches.every((t, i) => f.group.has(t) || (mask[i] === 1) === (f.rest === 'on'))) return f.split ? runSplit(f, mask) : run(f.session, mask);
      full ??= createSession(encodeModel(sw.model), where, args.session);
      return run(await full, mask);
    },
    async release() {
      await release();
      if (full) await (await full).release();
    },
  };
}

/**
 * A session for a restricted switch model, with onnxruntime's QDQ fusion off (float simulation).
 * With the others fixed on, at most `basic` optimization: the layout and fusion passes of
 * `extended`/`all` change float summation orders, and in a model quantized all over a last-bit
 * change flips roundings downstream (measured on the PP-OCRv4 recognizer: outputs 0.16 apart
 * from the full switch model with `all`, identical with `basic`). With the others off (one block
 * quantized at a time), `all`: 2.3× faster, within 3e-6 of the full model's scores there.
 */
async function createSubsetSession(bytes: Uint8Array, where: string, rest: 'off' | 'on', settings: SessionSettings = {}): Promise<ort.InferenceSession> {
  const level = settings.graphOptimizationLevel ?? 'all';
  try {
    return await ort.InferenceSession.create(bytes, {
      graphOptimizationLevel: rest === 'on' && (level === 'all' || level === 'extended') ? 'basic' : level,
      executionMode: 'sequential',
      ...(settings.intraOpNumThreads ? { intraOpNumThreads: settings.intraOpNumThreads } : {}),
      extra: { session: { disable_quant_qdq: '1' } },
    });
  } catch (err) {
    throw new ModelError(`${where}: onnxruntime could not load the model: ${messageOf(err)}`, { cause: err });
  }
}
