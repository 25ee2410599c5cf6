import { encodeModel, type OnnxModel } from '../onnx/model';
import { buildQdqModel, type QdqOptions } from '../qdq/build-qdq';
import { createSession, type SessionSettings } from '../runner/session';
import type { CalibrationTable } from '../table';
import { tableWithout } from './apply-fallback';
import { runEvalSet, type EvalSet } from './eval-set';
import type { FidelityMetric, ModelOutputs } from './fidelity-metric';

/** What a ranking needs from a probe: the quantized activations in graph order, and a score for any subset. */
export interface TensorProbe {
  readonly switches: readonly string[];
  /** The metric with exactly the tensors in `on` quantized (with the weights of the ops reading them). */
  score(on: ReadonlySet<string>): Promise<number>;
  /** Inferences run so far. */
  readonly inferences: number;
  /** QDQ models built so far (0 for the switch model). */
  readonly builds: number;
  release(): Promise<void>;
}

/**
 * A probe that scores each configuration on the real QDQ model the writer builds from the table
 * restricted to `on`: one build and one onnxruntime session per configuration, so what it
 * measures is exactly what the final model will do (onnxruntime's integer kernels and fusions).
 * On the PP-OCRv4 detector a build + session costs about as much as 4–8 inferences of FP32 — but
 * one inference of the switch model (every Q/DQ pair behind a Where, nothing fused) costs about 10
 * of the QDQ model's, so for the one or two samples a ranking runs on, building is the cheaper
 * probe (see the README's search section).
 */
export async function createBuildProbe(args: {
  model: OnnxModel; where: string; table: CalibrationTable; evalSet: EvalSet; metric: FidelityMetric;
  reference: readonly ModelOutputs[]; qdq?: QdqOptions; session?: SessionSettings;
}): Promise<TensorProbe> {
  const outputs = args.model.graph!.output.map((o) => o.name);
  const all = buildQdqModel(args.model, args.table, args.qdq);
  const switches = all.report.tensors.map((t) => t.name);
  let inferences = 0, builds = 1;
  const scoreModel = async (q: OnnxModel, label: string): Promise<number> => {
    const s = await createSession(encodeModel(q), `${args.where} (QDQ, ${label})`, args.session);
    try {
      const out = await runEvalSet(s, args.evalSet, outputs, 'QDQ model');
      inferences += args.evalSet.batches.length;
      return args.metric.metric(args.reference, out);
    } finally { await s.release(); }
  };
  return {
    switches,
    get inferences() { return inferences; },
    get builds() { return builds; },
    async score(on) {
      if (on.size === switches.length && switches.every((t) => on.has(t))) return scoreModel(all.model, 'all quantized');
      const off = switches.filter((t) => !on.has(t));
      builds++;
      return scoreModel(buildQdqModel(args.model, tableWithout(args.table, off), args.qdq).model, `${off.length} float`);
    },
    release: async () => {},
  };
}
