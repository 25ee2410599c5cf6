import type { OnnxModel } from '../../onnx/model';
import type { SessionSettings } from '../../runner/session';
import type { FeedTensor } from '../../tensor';
import type { CalibrationTable } from '../../table';
import { buildQdqModel, prepareQdqWork, type QdqOptions, type QdqReport } from '../build-qdq';
import { applyBiasCorrection, measureBiasCorrection, type BiasCorrectionOptions } from './bias-correction';
import { crossLayerEqualization, type CrossLayerEqualizationOptions } from './cross-layer-equalization';
import { smoothQuant, type SmoothQuantOptions } from './smooth-quant';
import { isotoneRanges, type IsotoneOptions } from './isotone-ranges';
import type { RangeChoiceMeta } from '../../sensitivity/choose-ranges';

/** metadata_props key listing the passes applied to a QDQ model (JSON array of {@link AppliedPass}). */
export const PASSES_METADATA_KEY = 'qcal.passes';

export interface QdqPassOptions extends QdqOptions {
  /** Cross-layer equalization (needs `calibration` to rescale ranges): true or its options. */
  crossLayerEqualization?: boolean | CrossLayerEqualizationOptions;
  /** SmoothQuant on MatMul/Gemm inputs (needs `calibration`): true or its options. */
  smoothQuant?: boolean | SmoothQuantOptions;
  /** Order-preserving ranges for the inputs of output Softmax / ArgMax (needs `calibration`): true or its options. */
  isotone?: boolean | IsotoneOptions;
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
  /** The table the QDQ model was built from when a pass rescaled ranges (else absent). */
  table?: CalibrationTable;
}

const opt = <T extends object>(v: boolean | T | undefined): T => (typeof v === 'object' ? v : ({} as T));

/**
 * The QDQ writer with graph passes around it, in this order: cross-layer equalization and
 * SmoothQuant rewrite the float model (same function, rescaled weights) and rescale the table
 * ranges of the activations they change; isotone ranges set the upper bound of the inputs of an
 * output Softmax/ArgMax; bias correction then measures the rewritten model's
 * INT8 shift. The rewritten model reaches {@link buildQdqModel} through its `rewrite` hook; what was
 * applied goes into the report and the model's metadata (`qcal.passes`). Without passes this is
 * buildQdqModel, with `qcal.passes` listing what the writer's default-on passes (fold-affine, fuse-activations, saturation-ranges) changed.
 */
export async function buildQdqModelWithPasses(model: OnnxModel, table: CalibrationTable, opts: QdqPassOptions = {}): Promise<{ model: OnnxModel; report: QdqPassReport }> {
  const { biasCorrection, crossLayerEqualization: cle, smoothQuant: sq, isotone, calibration, session, ...qdq } = opts;
  const passes: AppliedPass[] = [];
  const needs = (name: string): readonly Readonly<Record<string, FeedTensor>>[] => {
    if (!calibration?.length) throw new RangeError(`${name} needs calibration samples (opts.calibration)`);
    return calibration;
  };
  const s = session ? { session } : {};
  let rewrite = qdq.rewrite;
  let used = table;
  if (cle || sq || isotone) {
    const base = prepareQdqWork(model, qdq).fold.model;
    let work = rewrite ? rewrite(base) : base;
    if (cle) {
      const r = await crossLayerEqualization(work, used, needs('cross-layer equalization'), { ...opt(cle), ...s });
      work = r.model; used = r.table;
      const worst = (k: 'rangeRatioBefore' | 'rangeRatioAfter') => r.pairs.reduce((m, p) => Math.max(m, p[k]), 1);
      passes.push({ name: 'cross-layer-equalization', summary: { pairs: r.pairs.length, iterations: r.iterations, samples: r.samples, worstRangeRatioBefore: +worst('rangeRatioBefore').toPrecision(4), worstRangeRatioAfter: +worst('rangeRatioAfter').toPrecision(4) } });
    }
    if (sq) {
      const o = opt(sq);
      const r = await smoothQuant(work, used, needs('SmoothQuant'), { ...o, ...s });
      work = r.model; used = r.table;
      passes.push({ name: 'smooth-quant', summary: { sites: r.sites.length, folded: r.sites.filter((x) => x.fold !== 'insert').length, insertedMul: r.sites.filter((x) => x.fold === 'insert').length, alpha: o.alpha ?? 0.5, samples: r.samples } });
    }
    if (isotone) {
      const r = await isotoneRanges(work, used, needs('isotone ranges'), { ...opt(isotone), ...s });
      used = r.table;
      passes.push({ name: 'isotone', summary: { tensors: r.tensors.length, rows: r.tensors.reduce((n, t) => n + t.rows, 0), keptBefore: r.tensors.reduce((n, t) => n + t.keptBefore, 0), keptAfter: r.tensors.reduce((n, t) => n + t.keptAfter, 0), samples: r.samples } });
    }
    // The writer prepares the same work model again; the rewritten one replaces it.
    const done = work;
    rewrite = () => done;
  }
  const q: QdqOptions = { ...qdq, ...(rewrite ? { rewrite } : {}) };
  if (biasCorrection) {
    const bc = await measureBiasCorrection(model, used, q, needs('bias correction'), { ...opt(biasCorrection), ...s });
    const prev = rewrite;
    rewrite = (w) => applyBiasCorrection(prev ? prev(w) : w, bc.biases);
    const moved = bc.sites.filter((x) => x.maxAbsShift > 0);
    passes.push({ name: 'bias-correction', summary: { layers: moved.length, samples: bc.samples, iterations: bc.iterations, inferences: bc.inferences } });
  }
  const built = buildQdqModel(model, used, { ...qdq, ...(rewrite ? { rewrite } : {}) });
  // The writer's own passes (the search and sensitivity probes build through it too), listed where
  // they changed something: affine folding happens first (prepareQdqWork), then the passes above,
  // activation fusing, and range narrowing last.
  const affine = built.report.foldedBatchNorms.filter((f) => f.op === 'Mul' || f.op === 'Add').length;
  if (affine) passes.unshift({ name: 'fold-affine', summary: { layers: affine } });
  // Chains are found on the model the writer quantizes (after the rewriting passes), before ranges are narrowed.
  const fused = built.report.fusedActivations;
  if (fused.chains) passes.push({ name: 'fuse-activations', summary: { chains: fused.chains, floatTensors: fused.floatTensors, hardSwishNodes: fused.replaced } });
  if (built.report.saturated.length) passes.push({ name: 'saturation-ranges', summary: { tensors: built.report.saturated.length } });
  // A table chosen among collectors (`auto`, chooseRanges): which collector's ranges the tensors got.
  const choice = table.meta?.rangeChoice as RangeChoiceMeta | undefined;
  if (choice?.counts) passes.unshift({ name: 'range-choice', summary: { ...Object.fromEntries(Object.entries(choice.counts).filter(([, n]) => n > 0)), metric: choice.metric, base: +choice.score.base.toPrecision(6), chosen: +choice.score.chosen.toPrecision(6) } });
  const meta = [...(built.model.metadataProps ?? []).filter((m) => m.key !== PASSES_METADATA_KEY), { key: PASSES_METADATA_KEY, value: JSON.stringify(passes) }];
  return { model: { ...built.model, metadataProps: meta }, report: { ...built.report, passes, ...(used !== table ? { table: used } : {}) } };
}
