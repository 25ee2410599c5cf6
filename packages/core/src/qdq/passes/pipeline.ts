import type { OnnxModel } from '../../onnx/model';
import type { SessionSettings } from '../../runner/session';
import type { FeedTensor } from '../../tensor';
import type { CalibrationTable } from '../../table';
import { buildQdqModel, type QdqOptions, type QdqReport } from '../build-qdq';
import { applyBiasCorrection, measureBiasCorrection, type BiasCorrectionOptions } from './bias-correction';

/** metadata_props key listing the passes applied to a QDQ model (JSON array of {@link AppliedPass}). */
export const PASSES_METADATA_KEY = 'qcal.passes';

export interface QdqPassOptions extends QdqOptions {
  /** Empirical bias correction (needs `calibration`): true or its options. */
  biasCorrection?: boolean | BiasCorrectionOptions;
  /** Calibration samples for passes that measure (one feed record per sample). */
  calibration?: readonly Readonly<Record<string, FeedTensor>>[];
  session?: SessionSettings;
}

export interface AppliedPass {
  name: string;
  /** What the pass did, in numbers (layers changed, samples used, …). */
  summary: Record<string, number | string>;
}

export interface QdqPassReport extends QdqReport {
  passes: AppliedPass[];
}

/**
 * The QDQ writer with graph passes around it: passes that rewrite the float model (bias
 * correction) run first and hand their rewrite to {@link buildQdqModel} through its `rewrite`
 * hook; what was applied goes into the report and the model's metadata (`qcal.passes`).
 * Without passes this is buildQdqModel (plus an empty `qcal.passes` list).
 */
export async function buildQdqModelWithPasses(model: OnnxModel, table: CalibrationTable, opts: QdqPassOptions = {}): Promise<{ model: OnnxModel; report: QdqPassReport }> {
  const { biasCorrection, calibration, session, ...qdq } = opts;
  const passes: AppliedPass[] = [];
  let rewrite = qdq.rewrite;
  if (biasCorrection) {
    if (!calibration?.length) throw new RangeError('bias correction needs calibration samples (opts.calibration)');
    const bc = await measureBiasCorrection(model, table, qdq, calibration, { ...(typeof biasCorrection === 'object' ? biasCorrection : {}), ...(session ? { session } : {}) });
    const prev = rewrite;
    rewrite = (w) => applyBiasCorrection(prev ? prev(w) : w, bc.biases);
    const moved = bc.sites.filter((s) => s.maxAbsShift > 0);
    passes.push({ name: 'bias-correction', summary: { layers: moved.length, samples: bc.samples, iterations: bc.iterations, inferences: bc.inferences } });
  }
  const built = buildQdqModel(model, table, { ...qdq, ...(rewrite ? { rewrite } : {}) });
  const meta = [...(built.model.metadataProps ?? []).filter((m) => m.key !== PASSES_METADATA_KEY), { key: PASSES_METADATA_KEY, value: JSON.stringify(passes) }];
  return { model: { ...built.model, metadataProps: meta }, report: { ...built.report, passes } };
}
