import {
  COLLECTOR_API_VERSION,
  defineCollector,
  PluginError,
  type ActivationTensor,
  type CalibrationCollector,
  type CollectorContext,
  type CollectorState,
  type Logger,
  type PostCollectContext,
  type TensorRange,
} from '@qcal/plugin-kit';
import { firstMinIndex, tuneCandidates } from './candidates';
import { finiteAbsMax } from './finite-abs-max';

export interface AutotuneOptions {
  /** The collector whose thresholds are refined (any installed collector). */
  base: string;
  /** Options of the base collector. */
  baseOptions: Readonly<Record<string, unknown>>;
  /** Tune samples: the first `tuneNum` calibration samples (tpu-mlir `--tune_num`). */
  tuneNum: number;
  /** Steps between the base threshold and absmax (steps + 1 candidates, both ends). */
  tuneSteps: number;
  /** Tensors whose absmax is within this of the base threshold are not tuned. */
  minTunedDiff: number;
}

/** What tuning did for one consumer op of a tensor. */
export interface ConsumerTuning {
  consumer: string;
  opType: string;
  /** The threshold this consumer alone would choose. */
  threshold: number;
  /** Distance at the base threshold and at the final (tensor-wide) threshold. */
  baseDistance: number;
  distance: number;
}

interface AutotuneState { version: 1; absMax: Record<string, number>; base: CollectorState }

/**
 * tpu-mlir's auto-tune (SimpleTuner) as a wrapping collector: the base collector sees every batch;
 * at postCollect each tensor's base threshold is refined by running its consumer ops (through
 * `ctx.tuning`) at candidate thresholds between the base threshold and the tensor's absmax.
 */
class AutotuneCollector implements CalibrationCollector {
  private readonly absMax = new Map<string, number>();
  constructor(
    private readonly options: Readonly<AutotuneOptions>,
    private readonly base: CalibrationCollector,
    private readonly logger: Logger,
  ) {}

  async collect(name: string, opName: string, tensor: ActivationTensor): Promise<void> {
    // Before the base: the data belongs to the runner and stays valid for this whole call.
    this.absMax.set(name, finiteAbsMax(tensor.data, this.absMax.get(name) ?? 0));
    await this.base.collect(name, opName, tensor);
  }

  async postCollect(ctx: PostCollectContext): Promise<Record<string, TensorRange>> {
    const { tuning, ...baseCtx } = ctx;
    const baseRanges = await this.base.postCollect(baseCtx);
    if (!tuning) this.logger.warn(`autotune: no tuning context was offered; the ${this.options.base} table is kept as is`);
    const { tuneSteps, minTunedDiff } = this.options;
    const out: Record<string, TensorRange> = {};
    // One pass over the tune samples answers every (tensor, consumer) question.
    const plans = ctx.tensors.flatMap((t) => {
      const r = baseRanges[t.name];
      if (!r) return [];
      const th0 = Math.max(Math.abs(r.min), Math.abs(r.max));
      const absMax = this.absMax.get(t.name) ?? th0;
      const candidates = tuning ? tuneCandidates(th0, absMax, tuneSteps, minTunedDiff) : [];
      const consumers = candidates.length && tuning ? tuning.consumers(t.name) : [];
      return [{ t, r, th0, absMax, candidates, consumers }];
    });
    const requests = plans.flatMap((p) => p.consumers.map((c) => ({ tensor: p.t.name, consumer: c.name, thresholds: p.candidates })));
    const answers = requests.length ? await tuning!.distancesMany(requests) : [];
    let next = 0;
    let tuned = 0;
    for (const { t, r, th0, absMax, candidates, consumers } of plans) {
      const { min: baseMin, max: baseMax, ...baseExtras } = r;
      const perConsumer = consumers.map((c) => {
        const d = answers[next++]!;
        return { c, d, best: firstMinIndex(d) };
      });
      // With several consumers the largest threshold wins (tpu-mlir updates the table only upward).
      const bestIndex = perConsumer.reduce((m, p) => Math.max(m, p.best), 0);
      const threshold = candidates.length && perConsumer.length ? candidates[bestIndex]! : th0;
      if (bestIndex > 0) tuned++;
      const tuning1: ConsumerTuning[] = perConsumer.map((p) => ({
        consumer: p.c.name, opType: p.c.opType, threshold: candidates[p.best]!, baseDistance: p.d[0]!, distance: p.d[bestIndex]!,
      }));
      const baseDistance = mean(tuning1.map((x) => x.baseDistance));
      const distance = mean(tuning1.map((x) => x.distance));
      out[t.name] = {
        // Symmetric int8 as tpu-mlir deploys it (ImportCalibration): [0, T] where the base range never went negative.
        min: baseMin >= 0 ? 0 : -threshold,
        max: threshold,
        tunedThreshold: threshold,
        baseThreshold: th0,
        baseMin,
        baseMax,
        absMax,
        ...(perConsumer.length ? { baseDistance, distance, distanceGain: baseDistance - distance, consumers: tuning1 } : {}),
        ...(Object.keys(baseExtras).length ? { baseExtras } : {}),
      };
    }
    ctx.logger.info(`autotune: ${tuned} of ${ctx.tensors.length} thresholds moved from the ${this.options.base} thresholds`);
    return out;
  }

  snapshot(): CollectorState {
    if (!this.base.snapshot) throw new Error(`the base collector "${this.options.base}" cannot snapshot its state, so autotune cannot either`);
    const state: AutotuneState = { version: 1, absMax: Object.fromEntries(this.absMax), base: this.base.snapshot() };
    return state;
  }

  merge(state: CollectorState): void {
    if (!this.base.merge) throw new Error(`the base collector "${this.options.base}" cannot merge states, so autotune cannot either`);
    const st = state as AutotuneState;
    for (const [name, m] of Object.entries(st.absMax)) this.absMax.set(name, Math.max(this.absMax.get(name) ?? 0, m));
    this.base.merge(st.base);
  }
}

function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
}

function create(options: Readonly<AutotuneOptions>, ctx: CollectorContext): CalibrationCollector {
  if (!ctx.createCollector) {
    throw new PluginError('autotune', 'autotune wraps a base collector but the context offers no createCollector; pass the collector registry (calibrate({ registry }))');
  }
  if (options.base === 'autotune') throw new PluginError('autotune', 'autotune cannot wrap itself; set "base" to another collector such as "entropy"');
  return new AutotuneCollector(options, ctx.createCollector(options.base, options.baseOptions), ctx.logger);
}

/** The `autotune` collector definition. */
export const autotuneCollector = defineCollector<AutotuneOptions>({
  name: 'autotune',
  apiVersion: COLLECTOR_API_VERSION,
  description: "tpu-mlir auto-tune: refines a base collector's thresholds per tensor by the consumer ops' output distance",
  optionsSchema: {
    base: { type: 'string', description: 'the collector whose thresholds are refined (default entropy)' },
    baseOptions: { type: 'any', description: "the base collector's options" },
    tuneNum: { type: 'integer', min: 1, max: 10000, description: 'tune samples: the first N calibration samples (tpu-mlir --tune_num)' },
    tuneSteps: { type: 'integer', min: 1, max: 1000, description: 'steps from the base threshold to absmax (steps + 1 candidates)' },
    minTunedDiff: { type: 'number', min: 0, description: 'skip tensors whose absmax is within this of the base threshold' },
  },
  defaultOptions: { base: 'entropy', baseOptions: {}, tuneNum: 5, tuneSteps: 21, minTunedDiff: 0.01 },
  needs: { activations: 'tensor', tuning: true },
  create,
});
