/**
 * Property tests shared by the collectors' packages (fast-check, seeded): any float32 batches —
 * NaN, ±Infinity, ±FLT_MAX-sized values, denormals, signed zeros, constants, empty batches — give
 * a finite range with min <= max for every tensor, the same answer twice, and NaN / ±Infinity
 * counted per element.
 */
import fc from 'fast-check';
import { silentLogger, validateOptions, type CollectorDefinition, type TensorInfo, type TensorRange } from '@qcal/plugin-kit';

const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1e-45, -1e-45, 1.1754942e-38, 3.4028235e38, -3.4028235e38, 1e38, -1e38, 2 ** 100, -(2 ** 100), 1, -1, 5];

/** A float32 value: mostly ordinary, often special. */
const value = fc.oneof(
  { weight: 4, arbitrary: fc.float({ noDefaultInfinity: false, noNaN: false }) },
  { weight: 2, arbitrary: fc.constantFrom(...SPECIAL) },
  { weight: 3, arbitrary: fc.double({ min: -10, max: 10, noNaN: true }) },
  { weight: 1, arbitrary: fc.double({ min: -1e-40, max: 1e-40, noNaN: true }) },
);
/** A batch: random values, or a constant one. */
const batch = fc.oneof(
  { weight: 4, arbitrary: fc.array(value, { minLength: 0, maxLength: 40 }) },
  { weight: 1, arbitrary: fc.tuple(value, fc.integer({ min: 1, max: 12 })).map(([v, n]) => new Array<number>(n).fill(v)) },
).map((xs) => Float32Array.from(xs));
/** Batches per tensor, for two tensors. */
const run = fc.array(fc.tuple(batch, batch), { minLength: 1, maxLength: 5 });

const TENSORS: TensorInfo[] = [
  { name: 'a', opName: 'A', opType: 'Relu', consumers: [] },
  { name: 'b', opName: 'B', opType: 'Conv', consumers: [] },
];

async function calibrate(def: CollectorDefinition<any>, options: Record<string, unknown>, batches: [Float32Array, Float32Array][]): Promise<Record<string, TensorRange>> {
  const { options: o, problems } = validateOptions(def.optionsSchema, def.defaultOptions as object, options, def.name);
  if (problems.length) throw new Error(problems.join('; '));
  const c = def.create(o, { tensors: TENSORS, logger: silentLogger });
  for (const [a, b] of batches) {
    // Each batch gets its own copy: the runner's arrays are released after collect.
    await c.collect('a', 'A', { data: a.slice(), dims: [a.length] });
    await c.collect('b', 'B', { data: b.slice(), dims: [b.length] });
  }
  return c.postCollect({ tensors: TENSORS, samples: batches.length, batches: batches.length, logger: silentLogger });
}

function count(batches: Float32Array[], test: (v: number) => boolean): number {
  let n = 0;
  for (const b of batches) for (const v of b) if (test(v)) n++;
  return n;
}

/**
 * Checks the properties for `def` with each of `optionSets`. `numRuns` per option set; seeded, so
 * a failure reproduces (fast-check prints the counterexample and seed).
 */
export async function checkCollectorProperties(def: CollectorDefinition<any>, optionSets: Record<string, unknown>[], numRuns = 60, seed = 19): Promise<void> {
  for (const options of optionSets) {
    await fc.assert(
      fc.asyncProperty(run, async (batches) => {
        const r1 = await calibrate(def, options, batches);
        const r2 = await calibrate(def, options, batches);
        expect(r2).toEqual(r1);
        for (const [i, name] of ['a', 'b'].entries()) {
          const t = r1[name];
          // A tensor that never got a batch with values may be absent or present; when present it must be sane.
          if (!t) continue;
          expect(Number.isFinite(t.min)).toBe(true);
          expect(Number.isFinite(t.max)).toBe(true);
          expect(t.min).toBeLessThanOrEqual(t.max);
          const mine = batches.map((p) => p[i]!);
          const nan = count(mine, (v) => v !== v);
          const inf = count(mine, (v) => v === Infinity || v === -Infinity);
          if (nan || 'nanCount' in t) expect(t.nanCount ?? 0).toBe(nan);
          // Collectors whose float32 arithmetic would overflow also count |x| >= 2^100 here.
          if (inf || 'infCount' in t) expect(t.infCount ?? 0).toBeGreaterThanOrEqual(inf);
        }
      }),
      { numRuns, seed },
    );
  }
}
