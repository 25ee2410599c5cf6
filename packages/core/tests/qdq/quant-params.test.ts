import { activationParams, quantizeBias, quantizeWeights, roundEven } from '../../src/qdq/quant-params';

describe('activationParams', () => {
  it('uint8: symmetric range gives scale 2t/255 and zero point 128', () => {
    const p = activationParams(-2, 2, 'uint8');
    expect(p.scale).toBeCloseTo(4 / 255, 12);
    expect(p.zeroPoint).toBe(128);
  });
  it('uint8: a non-negative range gives zero point 0 and covers [0, max]', () => {
    const p = activationParams(0.5, 6, 'uint8');
    expect(p.zeroPoint).toBe(0);
    expect(p.scale).toBeCloseTo(6 / 255, 12);
  });
  it('int8: symmetric over max |x|, zero point 0', () => {
    const p = activationParams(-1, 3, 'int8');
    expect(p).toEqual({ type: 'int8', scale: 3 / 127, zeroPoint: 0 });
  });
  it('a zero-width range still gets a positive scale', () => {
    expect(activationParams(0, 0, 'uint8').scale).toBeGreaterThan(0);
  });
  it('rounds half to even', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4].map(roundEven)).toEqual([0, 2, 2, -0, -2, -2, 2]);
  });
});

describe('quantizeWeights', () => {
  it('per channel: each channel max-abs maps to ±qmax and dequantized values are within half a step', () => {
    const dims = [3, 2, 2];
    const w = Float32Array.from([0.1, -0.2, 0.05, 0.15, 10, -3, 2.5, 7.5, 0, 0, 0, 0]);
    const q = quantizeWeights(w, dims, 0);
    expect(Array.from(q.scales)).toEqual([Math.fround(0.2 / 127), Math.fround(10 / 127), 1]);
    expect(q.values[1]).toBe(-127);
    expect(q.values[4]).toBe(127);
    for (let i = 0; i < w.length; i++) {
      const s = q.scales[Math.floor(i / 4)]!;
      expect(Math.abs(q.values[i]! * s - w[i]!)).toBeLessThanOrEqual(s / 2 + 1e-7);
    }
  });
  it('axis 1 (Gemm/MatMul columns) and reduced range', () => {
    const w = Float32Array.from([1, -8, 2, 4, -0.5, 8]); // [3, 2]
    const q = quantizeWeights(w, [3, 2], 1, 64);
    expect(Array.from(q.scales)).toEqual([Math.fround(2 / 64), Math.fround(8 / 64)]);
    expect(Array.from(q.values)).toEqual([32, -64, 64, 32, -16, 64]);
  });
});

describe('quantizeBias', () => {
  it('uses input scale × weight scale per channel', () => {
    const b = quantizeBias(Float32Array.from([1, -2]), 0.5, Float32Array.from([0.01, 0.02]));
    expect(Array.from(b.scales)).toEqual([Math.fround(0.005), Math.fround(0.01)]);
    expect(Array.from(b.values)).toEqual([200, -200]);
  });
});
