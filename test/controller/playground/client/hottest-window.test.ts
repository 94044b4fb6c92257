import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hottestWindow } from '../../../../controller/playground/client/hottest-window.ts';

describe('hottestWindow', () => {
  it('finds the window of the given width with the highest mean', () => {
    expect(hottestWindow([1, 1, 5, 6, 1, 1], 2)).toEqual({ start: 2, end: 4, bitsPerChar: 5.5 });
  });

  it('takes the whole text when it is shorter than the window, and the first of equal windows', () => {
    expect(hottestWindow([2, 4], 64)).toEqual({ start: 0, end: 2, bitsPerChar: 3 });
    expect(hottestWindow([3, 3, 3], 1)?.start).toBe(0);
  });

  it('counts characters without a figure as zero, and has no window for no text', () => {
    expect(hottestWindow([Number.NaN, 9, 1], 1)).toEqual({ start: 1, end: 2, bitsPerChar: 9 });
    expect(hottestWindow([], 3)).toBeUndefined();
    expect(hottestWindow([1], 0)).toBeUndefined();
  });

  it('agrees with a brute-force search (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 50 }),
        fc.integer({ min: 1, max: 60 }),
        (values, width) => {
          const w = Math.min(width, values.length);
          let best = -1;
          for (let s = 0; s + w <= values.length; s++)
            best = Math.max(best, values.slice(s, s + w).reduce((a, b) => a + b, 0) / w);
          expect(hottestWindow(values, width)?.bitsPerChar).toBeCloseTo(best, 9);
        },
      ),
    );
  });
});
