import { describe, expect, it } from 'vitest';
import {
  distributionOf,
  exceedanceThreshold,
  percentileOf,
  quantileSorted,
  zScore,
} from '../../../controller/calibration/distribution.ts';

describe('reference distributions', () => {
  const d = distributionOf([5, 1, 4, 2, 3]);

  it('sorts, and takes the median and the scaled MAD', () => {
    expect(d.values).toEqual([1, 2, 3, 4, 5]);
    expect(d.median).toBe(3);
    expect(d.scale).toBeCloseTo(1.4826, 10);
    expect(zScore(d, 6)).toBeCloseTo(3 / 1.4826, 10);
  });

  it('reads percentiles off the empirical distribution, interpolated', () => {
    expect(percentileOf(d, 0)).toBe(0);
    expect(percentileOf(d, 1)).toBe(20);
    expect(percentileOf(d, 3)).toBe(60);
    expect(percentileOf(d, 3.5)).toBe(70);
    expect(percentileOf(d, 5)).toBe(100);
    expect(percentileOf(d, 99)).toBe(100);
  });

  it('takes interpolated quantiles', () => {
    expect(quantileSorted([1, 2, 3, 4, 5], 0.5)).toBe(3);
    expect(quantileSorted([1, 2, 3, 4, 5], 0.9)).toBeCloseTo(4.6, 12);
    expect(quantileSorted([1, 2], 1)).toBe(2);
  });

  it('puts the flag threshold where a new value exceeds it with the requested probability', () => {
    const values = Array.from({ length: 99 }, (_, i) => i + 1);
    // A new value lands in each of the 100 gaps between 99 sorted values with probability 1/100.
    expect(exceedanceThreshold(values, 0.01)).toBe(99);
    expect(exceedanceThreshold(values, 0.1)).toBe(90);
    expect(exceedanceThreshold(values, 0.001)).toBe(99);
  });

  it('never has a zero scale', () => {
    expect(distributionOf([2, 2, 2]).scale).toBeGreaterThan(0);
  });
});
