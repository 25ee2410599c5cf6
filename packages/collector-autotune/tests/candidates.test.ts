import { firstMinIndex, tuneCandidates } from '../src';

describe('tuneCandidates', () => {
  it('spans base threshold to absmax in tuneSteps steps, both ends', () => {
    const c = tuneCandidates(1, 22, 21, 0.01);
    expect(c).toHaveLength(22);
    expect(c[0]).toBe(1);
    expect(c[21]).toBeCloseTo(22, 12);
    expect(c[1]).toBeCloseTo(2, 12);
  });
  it('is empty when absmax - threshold <= minTunedDiff or step <= 0', () => {
    expect(tuneCandidates(1, 1.005, 21, 0.01)).toEqual([]);
    expect(tuneCandidates(2, 1, 21, 0.01)).toEqual([]);
    expect(tuneCandidates(NaN, 1, 21, 0.01)).toEqual([]);
  });
});

describe('firstMinIndex', () => {
  it('keeps the first minimum (strictly better wins)', () => {
    expect(firstMinIndex([3, 1, 1, 2])).toBe(1);
    expect(firstMinIndex([1, 1])).toBe(0);
    expect(firstMinIndex([NaN, 2, 1])).toBe(2);
    expect(firstMinIndex([NaN, NaN])).toBe(0);
  });
});
