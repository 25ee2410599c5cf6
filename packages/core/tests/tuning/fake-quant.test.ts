import { accumulateDistance, distanceOf, fakeQuantActivation, fakeQuantWeightPerChannel, roundHalfEven } from '../../src/tuning';

describe('fake-quant kernels', () => {
  it('rounds half to even like numpy', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, 2.6, -2.6].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, -2, 2, 3, -3]);
  });

  it('fake-quantizes activations with scale 127/T, clipping to [-128, 127]', () => {
    const x = Float32Array.of(0, 0.5, 1, 2, -2, -1.0079, 0.0039);
    const q = fakeQuantActivation(x, 1);
    const s = Math.fround(127 / 1);
    expect(q[0]).toBe(0);
    expect(q[1]).toBeCloseTo(64 / s, 6); // 63.5 rounds to even 64
    expect(q[2]).toBeCloseTo(1, 6);
    expect(q[3]).toBeCloseTo(1, 6); // clipped at 127
    expect(q[4]).toBeCloseTo(-128 / 127, 6); // clipped at -128, not -127
    expect(q[5]).toBeCloseTo(-128 / 127, 6);
    expect(q[6]).toBe(0); // 0.4953 rounds to 0
    expect(Number.isNaN(fakeQuantActivation(Float32Array.of(NaN), 1)[0])).toBe(true);
  });

  it('fake-quantizes weights per channel, max-abs symmetric', () => {
    // dims [2, 3]: channel axis 0 → rows; axis 1 → columns
    const w = Float32Array.of(1, 0.5, -0.25, 0.01, 0, -0.02);
    const r0 = fakeQuantWeightPerChannel(w, [2, 3], 0);
    expect(r0[0]).toBeCloseTo(1, 7);
    expect(r0[1]).toBeCloseTo(64 / 127, 7); // 63.5 → 64
    expect(r0[2]).toBeCloseTo(-32 / 127, 7); // -31.75 → -32
    expect(r0[3]).toBeCloseTo((64 * 0.02) / 127, 7); // 63.5·(0.02/127) → 64·0.02/127
    expect(r0[5]).toBeCloseTo(-0.02, 7);
    const r1 = fakeQuantWeightPerChannel(w, [2, 3], 1);
    expect(r1[0]).toBeCloseTo(1, 7);
    expect(r1[3]).toBeCloseTo(Math.round(0.01 * 127) / 127, 7); // column 0 max is 1
    expect(r1[4]).toBe(0); // an all-zero channel stays zero
  });

  it('measures ‖ref − out‖₂ / ‖ref‖₁, finite for an all-zero reference', () => {
    const ref = Float32Array.of(1, -2, 3);
    const out = Float32Array.of(0, 9, 1, -2, 2, 0);
    const s = accumulateDistance({ sq: 0, l1: 0 }, ref, out, 2);
    expect(distanceOf(s)).toBeCloseTo(1 / 6, 12);
    expect(distanceOf(accumulateDistance({ sq: 0, l1: 0 }, new Float32Array(2), Float32Array.of(3, 4)))).toBeCloseTo(5, 12);
  });
});
