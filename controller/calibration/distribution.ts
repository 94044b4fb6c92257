/**
 * @module
 * One reference distribution: sorted sample values with a robust centre and scale. Percentiles read the
 * empirical distribution (against reference texts); z-scores use median and MAD so a few odd reference texts
 * do not move them, and stay unbounded so two very unusual texts still compare.
 */

export interface Distribution {
  /** Sample size. */
  n: number;
  median: number;
  /** 1.4826 · median absolute deviation (the standard deviation for normal data); never 0. */
  scale: number;
  /** The samples, ascending. */
  values: number[];
}

/** Floor on the scale so a degenerate sample cannot divide by zero. */
const MIN_SCALE = 1e-6;

export function distributionOf(samples: readonly number[]): Distribution {
  const values = samples.filter(Number.isFinite).sort((a, b) => a - b);
  if (values.length === 0) return { n: 0, median: 0, scale: 1, values };
  const median = quantileSorted(values, 0.5);
  const deviations = values.map((v) => Math.abs(v - median)).sort((a, b) => a - b);
  const scale = Math.max(1.4826 * quantileSorted(deviations, 0.5), MIN_SCALE);
  return { n: values.length, median, scale, values };
}

/** Linear-interpolated quantile (the usual "type 7") of ascending values; q in [0, 1]. */
export function quantileSorted(values: readonly number[], q: number): number {
  if (values.length === 0) throw new RangeError('no values');
  const pos = Math.min(Math.max(q, 0), 1) * (values.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, values.length - 1);
  return (values[lo] as number) + (pos - lo) * ((values[hi] as number) - (values[lo] as number));
}

/**
 * Percentile (0–100) of x: the share of reference values at or below it, interpolated linearly between
 * neighbouring values so that it rises smoothly; 0 below the smallest, 100 at or above the largest.
 */
export function percentileOf(dist: Distribution, x: number): number {
  const v = dist.values;
  const n = v.length;
  if (n === 0 || Number.isNaN(x)) return NaN;
  if (x < (v[0] as number)) return 0;
  if (x >= (v[n - 1] as number)) return 100;
  // Largest k with v[k] <= x (binary search).
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((v[mid] as number) <= x) lo = mid;
    else hi = mid - 1;
  }
  const a = v[lo] as number;
  const b = v[lo + 1] as number;
  const frac = b > a ? (x - a) / (b - a) : 0;
  return (100 * (lo + 1 + frac)) / n;
}

export function zScore(dist: Distribution, x: number): number {
  return (x - dist.median) / dist.scale;
}

/**
 * The threshold that a new draw from the same distribution exceeds with probability `fpr`: the order statistic at
 * plotting position (1 − fpr)(n + 1), interpolated. Unlike the usual quantile, it is unbiased for that
 * probability (a new value falls above the k-th of n sorted values with probability (n + 1 − k)/(n + 1)).
 */
export function exceedanceThreshold(values: readonly number[], fpr: number): number {
  const n = values.length;
  if (n === 0) throw new RangeError('no values');
  const pos = Math.min(Math.max((1 - fpr) * (n + 1) - 1, 0), n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  return (values[lo] as number) + (pos - lo) * ((values[hi] as number) - (values[lo] as number));
}
