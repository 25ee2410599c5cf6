/**
 * Shared settings of the property-based and fuzz tests (fast-check). Seeded, so a CI run is
 * reproducible; QCAL_FUZZ_SEED picks another seed and QCAL_FUZZ_SCALE multiplies every property's
 * run count for a longer run by hand:
 *   QCAL_FUZZ_SCALE=50 QCAL_FUZZ_SEED=$RANDOM npx jest tests/property
 * A failure prints fast-check's seed and path: rerun with them to replay the shrunk case.
 */
import fc from 'fast-check';
import { QcalError } from '@qcal/core';

export const FUZZ_SEED = Number(process.env.QCAL_FUZZ_SEED ?? 20261203);
const SCALE = Number(process.env.QCAL_FUZZ_SCALE ?? 1);

/** fast-check parameters for a property run `runs` times in CI (× QCAL_FUZZ_SCALE). */
export function fuzzParams(runs: number): fc.Parameters<unknown> {
  return { seed: FUZZ_SEED, numRuns: Math.max(1, Math.round(runs * SCALE)), endOnFailure: false };
}

/**
 * What a parser may do with any input: return, or throw a coded qcal error (a one-line message
 * naming the input). Anything else — TypeError, RangeError, a native abort — is a bug.
 */
export function outcome<T>(f: () => T): { ok: true; value: T } | { ok: false; code: string; message: string } {
  try {
    return { ok: true, value: f() };
  } catch (e) {
    if (e instanceof QcalError) return { ok: false, code: e.code, message: e.message };
    throw e;
  }
}

export async function outcomeAsync<T>(f: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; code: string; message: string }> {
  try {
    return { ok: true, value: await f() };
  } catch (e) {
    if (e instanceof QcalError) return { ok: false, code: e.code, message: e.message };
    throw e;
  }
}

/** Byte-level mutations of a valid input: flips, overwrites, truncation, insertion, 32-bit extremes. */
export function mutated(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('u32' as const), at: fc.nat(), value: fc.constantFrom(0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe) }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 16 }) }),
  );
  return fc.array(edit, { minLength: 1, maxLength: 6 }).map((edits) => {
    let b = Uint8Array.from(valid);
    for (const e of edits) {
      const at = b.length ? e.at % (b.length + (e.kind === 'insert' ? 1 : 0)) : 0;
      if (e.kind === 'set' && b.length) b[at] = e.byte;
      else if (e.kind === 'flip' && b.length) b[at]! ^= 1 << e.bit;
      else if (e.kind === 'u32' && b.length >= 4) new DataView(b.buffer).setUint32(Math.min(at, b.length - 4), e.value, true);
      else if (e.kind === 'cut') b = b.slice(0, at);
      else if (e.kind === 'insert') b = Uint8Array.from([...b.subarray(0, at), ...e.bytes, ...b.subarray(at)]);
    }
    return b;
  });
}
