import { CalibrationError } from '@qcal/plugin-kit';
import { ORT_MAX_BINS, addToOrtAbsHistogram, ortAbsHistogram, percentileCollector } from '@qcal/collector-percentile';

/** 4096 values i/4096: |x| from 0 to 4095/4096, the first batch's grid of 2048 bins. */
const firstBatch = (): Float32Array => new Float32Array(4096).map((_, i) => i / 4096);

describe('percentile (onnxruntime mode): grid growth', () => {
  it('grows by bins of the first width as onnxruntime does, up to the limit', () => {
    const h0 = ortAbsHistogram(firstBatch(), 2048);
    const w = Math.fround(h0.edges[1]! - h0.edges[0]!);
    // Up to 2: about (2 − 4095/4096)/w more bins of the same width.
    const h1 = addToOrtAbsHistogram(h0, Float32Array.of(2, 0.5));
    const expected = 2048 + Math.ceil((2 - 4095 / 4096) / w);
    expect(Math.abs(h1.counts.length - expected)).toBeLessThanOrEqual(1);
    expect(h1.counts.reduce((a, b) => a + b, 0)).toBe(4096 + 2);
    // The same growth is refused under a smaller limit, with the tensor named.
    expect(() => addToOrtAbsHistogram(h0, Float32Array.of(2), 'conv1_out', 3000)).toThrow(/tensor "conv1_out".*3000/);
  });

  it('a far finite outlier stops with a CalibrationError naming the tensor, not a RangeError', () => {
    const c = percentileCollector.create({ percentile: 99.999, numBins: 2048, mode: 'onnxruntime' }, { logger: { debug() {}, info() {}, warn() {}, error() {} } } as never);
    c.collect('x_relu', 'relu', { data: firstBatch() } as never);
    const b = firstBatch();
    b[5] = 2 ** 110;
    let err: unknown;
    try { c.collect('x_relu', 'relu', { data: b } as never); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(CalibrationError);
    expect((err as Error).message).toMatch(/tensor "x_relu" has a finite \|x\| of 1\.298e\+33/);
    expect((err as Error).message).toContain(String(ORT_MAX_BINS));
  });
});
