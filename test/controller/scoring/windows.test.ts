import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rollingWindows } from '../../../controller/scoring/windows.ts';

describe('rollingWindows', () => {
  it('puts the prefix token first and scores from position 1 when the text fits', () => {
    expect(rollingWindows([10, 11, 12], 1, 8)).toEqual([{ prompt: [1, 10, 11, 12], scoreFrom: 1 }]);
  });

  it('returns no window for no token', () => {
    expect(rollingWindows([], 1, 8)).toEqual([]);
  });

  it('fails on a window too small to hold context and a token', () => {
    expect(() => rollingWindows([1, 2], 0, 1)).toThrow(/maxPromptTokens/);
  });

  it('scores every token exactly once, each after its true predecessor, within the prompt cap', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 400 }), fc.integer({ min: 2, max: 64 }), (n, cap) => {
        const tokens = Array.from({ length: n }, (_, i) => 100 + i);
        const windows = rollingWindows(tokens, 1, cap);
        const scored: number[] = [];
        for (const w of windows) {
          expect(w.prompt.length).toBeLessThanOrEqual(cap);
          expect(w.scoreFrom).toBeGreaterThanOrEqual(1);
          for (let j = w.scoreFrom; j < w.prompt.length; j++) {
            const token = w.prompt[j] as number;
            // The token before it in the prompt is its real predecessor (or the prefix for the first token).
            expect(w.prompt[j - 1]).toBe(token === 100 ? 1 : token - 1);
            scored.push(token);
          }
        }
        expect(scored).toEqual(tokens);
      }),
    );
  });

  it('gives later windows as much left context as the cap allows', () => {
    const tokens = Array.from({ length: 25 }, (_, i) => i + 10);
    const windows = rollingWindows(tokens, 1, 10);
    for (const w of windows.slice(1)) expect(w.prompt.length).toBe(10);
  });
});
