/**
 * A small testkit for collector authors (built-ins use it too): run a collector over batches the
 * way the runner does, and compare arrays with an explicit tolerance.
 */
import type { CollectorDefinition, TensorInfo, PostCollectContext } from '../collector';
import type { TensorRange } from '../tensor';
import { validateOptions } from '../options-schema';
import { silentLogger } from '../logger';

export interface CollectorCase {
  /** Tensor name → batches of values (each batch one collect call). */
  readonly batches: Readonly<Record<string, readonly (readonly number[] | Float32Array)[]>>;
  readonly options?: Record<string, unknown>;
}

/** Creates the collector with validated options, feeds every batch in order, returns postCollect's ranges. */
export async function runCollector<O extends object>(
  definition: CollectorDefinition<O>,
  testCase: CollectorCase,
): Promise<Record<string, TensorRange>> {
  const { options, problems } = validateOptions(definition.optionsSchema, definition.defaultOptions, testCase.options, definition.name);
  if (problems.length) throw new Error(problems.join('\n'));
  const tensors: TensorInfo[] = Object.keys(testCase.batches).map((name) => ({ name, opName: `${name}_op`, opType: 'Test', consumers: [] }));
  const collector = definition.create(options, { tensors, logger: silentLogger });
  let batches = 0;
  const maxBatches = Math.max(0, ...Object.values(testCase.batches).map((b) => b.length));
  for (let b = 0; b < maxBatches; b++) {
    for (const [name, list] of Object.entries(testCase.batches)) {
      const values = list[b];
      if (!values) continue;
      const data = values instanceof Float32Array ? values : Float32Array.from(values);
      await collector.collect(name, `${name}_op`, { data, dims: [data.length] });
    }
    batches++;
  }
  const ctx: PostCollectContext = { tensors, samples: batches, batches, logger: silentLogger };
  return collector.postCollect(ctx);
}

/** Runs several cases; returns their results in order. */
export async function testCollector<O extends object>(args: { collector: CollectorDefinition<O>; cases: readonly CollectorCase[] }): Promise<Record<string, TensorRange>[]> {
  const out: Record<string, TensorRange>[] = [];
  for (const c of args.cases) out.push(await runCollector(args.collector, c));
  return out;
}

/** Throws unless |a-b| <= atol + rtol*|b| elementwise (and lengths match). */
export function expectArraysClose(actual: ArrayLike<number>, expected: ArrayLike<number>, opts: { rtol?: number; atol?: number } = {}): void {
  const rtol = opts.rtol ?? 1e-6;
  const atol = opts.atol ?? 0;
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != expected ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (a === e) continue;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) throw new Error(`index ${i}: ${a} != expected ${e} (rtol ${rtol}, atol ${atol})`);
  }
}

/** Throws unless |a-b| <= atol + rtol*|b|. */
export function expectClose(actual: number, expected: number, opts: { rtol?: number; atol?: number } = {}): void {
  expectArraysClose([actual], [expected], opts);
}
