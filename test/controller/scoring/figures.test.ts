import { describe, expect, it } from 'vitest';
import { ensembleFigures, modelFigures } from '../../../controller/scoring/figures.ts';
import { sumPromptLogprobs, InvalidLogprobError } from '../../../controller/scoring/logprobs.ts';
import { wordCount, utf8Bytes } from '../../../controller/scoring/text-stats.ts';

describe('modelFigures', () => {
  it('follows the formulas of the README (What the numbers mean)', () => {
    const f = modelFigures(12, 4, { bytes: 10, words: 3 }, 1);
    expect(f.perplexity).toBeCloseTo(Math.exp(3), 12);
    expect(f.bits_per_byte).toBeCloseTo(12 / (10 * Math.LN2), 12);
    expect(f.word_perplexity).toBeCloseTo(Math.exp(4), 12);
  });

  it('leaves out a word perplexity that has no word or overflows, never sending Infinity', () => {
    expect(modelFigures(1, 1, { bytes: 1, words: 0 }, 1).word_perplexity).toBeUndefined();
    expect(modelFigures(5000, 1000, { bytes: 4000, words: 1 }, 1).word_perplexity).toBeUndefined();
  });
});

describe('ensembleFigures', () => {
  const a = modelFigures(10, 5, { bytes: 20, words: 4 }, 1);
  const b = modelFigures(30, 10, { bytes: 20, words: 4 }, 1);

  it('is the weighted geometric mean of perplexities, mean bits-per-byte and log-perplexity spread', () => {
    const e = ensembleFigures([
      { figures: a, weight: 1 },
      { figures: b, weight: 3 },
    ]);
    const mean = (2 * 1 + 3 * 3) / 4;
    expect(e.perplexity).toBeCloseTo(Math.exp(mean), 12);
    expect(e.bits_per_byte).toBeCloseTo((a.bits_per_byte + 3 * b.bits_per_byte) / 4, 12);
    expect(e.byte_perplexity).toBeCloseTo(2 ** e.bits_per_byte, 12);
    expect(e.spread).toBeCloseTo(Math.sqrt((1 * (2 - mean) ** 2 + 3 * (3 - mean) ** 2) / 4), 12);
  });

  it('has zero spread for one model and refuses an empty ensemble', () => {
    expect(ensembleFigures([{ figures: a, weight: 1 }]).spread).toBe(0);
    expect(() => ensembleFigures([])).toThrow(RangeError);
  });
});

describe('sumPromptLogprobs', () => {
  const ids = [1, 50, 7];
  it('reads each position by token id and skips position 0', () => {
    const span = sumPromptLogprobs(
      ids,
      [null, { '3': { logprob: -0.1 }, '50': { logprob: -2 } }, { '7': { logprob: -1 } }],
      1,
    );
    expect(span).toEqual({ nll: 3, tokens: 2 });
  });

  it.each([
    ['a missing actual token', [null, { '3': { logprob: -0.1 } }, { '7': { logprob: -1 } }]],
    ['-9999', [null, { '50': { logprob: -9999 } }, { '7': { logprob: -1 } }]],
    ['null', [null, null, { '7': { logprob: -1 } }]],
    ['a non-number', [null, { '50': { logprob: 'x' } }, { '7': { logprob: -1 } }]],
  ])('rejects %s', (_what, logprobs) => {
    expect(() => sumPromptLogprobs(ids, logprobs as never, 1)).toThrow(InvalidLogprobError);
  });
});

describe('text stats', () => {
  it('counts UTF-8 bytes and whitespace-separated words', () => {
    expect(utf8Bytes('héllo ✓')).toBe(10);
    expect(wordCount('  two\twords\n')).toBe(2);
    expect(wordCount('   ')).toBe(0);
    expect(wordCount('a\u00a0b\u3000c')).toBe(3);
  });
});
