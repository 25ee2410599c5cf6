import type * as ort from 'onnxruntime-node';
import { encodeModel, type OnnxModel } from '../onnx/model';
import type { QdqOptions } from '../qdq/build-qdq';
import { createSession, type SessionSettings } from '../runner/session';
import type { CalibrationTable } from '../table';
import { runEvalSet, type EvalSet } from './eval-set';
import type { FidelityMetric, ModelOutputs } from './fidelity-metric';
import { buildSwitchModel, SWITCH_INPUT, type SwitchModel } from './switch-model';

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
  /** Inferences run so far (reference pass excluded). */
  readonly inferences: number;
  release(): Promise<void>;
}

export async function createSensitivityProbe(args: {
  model: OnnxModel; bytes: Uint8Array; where: string; table: CalibrationTable; evalSet: EvalSet; metric: FidelityMetric;
  qdq?: QdqOptions; session?: SessionSettings; reference?: readonly ModelOutputs[];
}): Promise<SensitivityProbe> {
  const outputs = args.model.graph!.output.map((o) => o.name);
  let reference = args.reference;
  if (!reference) {
    const fp = await createSession(args.bytes, args.where, args.session);
    try { reference = await runEvalSet(fp, args.evalSet, outputs, args.where); } finally { await fp.release(); }
  }
  const sw = buildSwitchModel(args.model, args.table, args.qdq);
  const session: ort.InferenceSession = await createSession(encodeModel(sw.model), `${args.where} (sensitivity switch model)`, args.session);
  let inferences = 0;
  const ref = reference;
  return {
    switches: sw.switches,
    switchModel: sw,
    reference: ref,
    get inferences() { return inferences; },
    async score(on) {
      const mask = Uint8Array.from(sw.switches, (t) => (on.has(t) ? 1 : 0));
      const out = await runEvalSet(session, args.evalSet, outputs, `${args.where} (switch model)`, { [SWITCH_INPUT]: { type: 'bool', data: mask, dims: [mask.length] } });
      inferences += args.evalSet.batches.length;
      return args.metric.metric(ref, out);
    },
    release: () => session.release(),
  };
}
