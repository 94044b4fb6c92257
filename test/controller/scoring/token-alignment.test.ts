import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cumulativeBytes,
  cumulativeSurprisal,
  ensembleSurprisal,
  placeTokens,
} from '../../../controller/scoring/token-alignment.ts';
import { runOfTokens } from '../../../controller/scoring/token-run.ts';
import { tokenTextsOf } from '../../../controller/scoring/token-texts.ts';

/** Offsets of tokens given one string each, null where a token cannot be placed (as on the wire). */
const alignTokenOffsets = (text: string, pieces: (string | null)[]) =>
  Array.from(placeTokens(text, tokenTextsOf(pieces)).offsets, (o) => (o < 0 ? null : o));

/** Each character's surprisal: the steps of the running sum, for hand-made tokens. */
const charSurprisal = (text: string, tokens: { text: string | null; logprob: number }[]) => {
  const running = cumulativeSurprisal(text, runOfTokens(tokens));
  return Float64Array.from({ length: text.length }, (_, i) => running[i + 1]! - running[i]!);
};

const nll = (tokens: { logprob: number }[]) => tokens.reduce((s, t) => s - t.logprob, 0);
const sum = (a: Float64Array) => a.reduce((s, x) => s + x, 0);

describe('alignTokenOffsets', () => {
  it('places tokens at their characters, across a skipped space', () => {
    expect(alignTokenOffsets('The cat sat', ['The', 'cat', ' sat'])).toEqual([0, 4, 7]);
  });

  it('keeps its place after byte tokens that decode to nothing', () => {
    // "é" as two byte-fallback tokens ("" each), then the rest of the text still aligns.
    expect(alignTokenOffsets('café au lait', ['caf', '', '', ' au', ' lait'])).toEqual([
      0,
      null,
      null,
      4,
      7,
    ]);
  });

  it('reads sentencepiece and byte-level space markers', () => {
    expect(alignTokenOffsets('a b\nc', ['a', '\u2581b', '\u010ac'])).toEqual([0, 1, 3]);
  });
});

describe('charSurprisal', () => {
  it('spreads each token evenly over its characters', () => {
    const s = charSurprisal('abcd', [
      { text: 'ab', logprob: -2 },
      { text: 'cd', logprob: -4 },
    ]);
    expect([...s]).toEqual([1, 1, 2, 2]);
  });

  it('gives a skipped space to the token after it', () => {
    const s = charSurprisal('ab cd', [
      { text: 'ab', logprob: -2 },
      { text: 'cd', logprob: -3 },
    ]);
    expect([...s]).toEqual([1, 1, 1, 1, 1]);
  });

  it('gives unplaced byte tokens the characters between their placed neighbours', () => {
    // "x€y": the euro sign is three byte tokens that decode to nothing.
    const s = charSurprisal('x\u20acy', [
      { text: 'x', logprob: -1 },
      { text: '', logprob: -2 },
      { text: '', logprob: -3 },
      { text: '', logprob: -1 },
      { text: 'y', logprob: -0.5 },
    ]);
    expect([...s]).toEqual([1, 6, 0.5]);
  });

  it('joins partial UTF-8 tokens to the token that completes their character', () => {
    // vLLM decodes the last byte token of "é" as the whole character and the earlier one as "".
    const s = charSurprisal('\u00e9t', [
      { text: '', logprob: -2 },
      { text: '\u00e9', logprob: -1 },
      { text: 't', logprob: -4 },
    ]);
    expect([...s]).toEqual([3, 4]);
  });

  it('covers an astral character (two UTF-16 units) with its byte tokens', () => {
    const s = charSurprisal('a\u{1F600}', [
      { text: 'a', logprob: -1 },
      { text: '\uFFFD', logprob: -2 },
      { text: '\uFFFD', logprob: -2 },
    ]);
    expect([...s]).toEqual([1, 2, 2]);
  });

  it('puts trailing characters on the last token and spreads a text with no placeable token', () => {
    expect([...charSurprisal('ab!!', [{ text: 'ab', logprob: -4 }])]).toEqual([1, 1, 1, 1]);
    expect([...charSurprisal('xyz', [{ text: '', logprob: -3 }])]).toEqual([1, 1, 1]);
  });

  it('sums to the model NLL for any tokens (relative error ≤ 1e-9)', () => {
    const piece = fc.oneof(
      fc.string({ minLength: 0, maxLength: 4 }),
      fc.constant(''),
      fc.constant('\uFFFD'),
      fc.constant(null),
    );
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 60, unit: 'grapheme' }),
        fc.array(
          fc.record({ text: piece, logprob: fc.double({ min: -30, max: -1e-6, noNaN: true }) }),
          {
            minLength: 1,
            maxLength: 40,
          },
        ),
        (text, tokens) => {
          const s = charSurprisal(text, tokens);
          expect(s.length).toBe(text.length);
          const expected = nll(tokens);
          expect(Math.abs(sum(s) - expected) / expected).toBeLessThanOrEqual(1e-9);
          // The running sums the detection figures use end at the same total.
          const running = cumulativeSurprisal(text, runOfTokens(tokens));
          expect(running.length).toBe(text.length + 1);
          expect(
            Math.abs((running[text.length] as number) - expected) / expected,
          ).toBeLessThanOrEqual(1e-9);
        },
      ),
    );
  });

  it('sums to the NLL when the tokens are the real pieces of the text', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 50 }),
        (pieces) => {
          const text = pieces.join('');
          const tokens = pieces.map((p, i) => ({ text: p, logprob: -(1 + (i % 7)) }));
          const expected = nll(tokens);
          expect(
            Math.abs(sum(charSurprisal(text, tokens)) - expected) / expected,
          ).toBeLessThanOrEqual(1e-9);
        },
      ),
    );
  });
});

describe('cumulativeBytes and ensembleSurprisal', () => {
  it('counts UTF-8 bytes per UTF-16 unit', () => {
    const text = 'a\u00e9\u20ac\u{1F600}';
    const sums = cumulativeBytes(text);
    const bytes = [...sums.subarray(1)].map((s, i) => s - (sums[i] as number));
    expect(bytes).toEqual([1, 2, 3, 2, 2]);
    expect(bytes.reduce((s, b) => s + b, 0)).toBe(Buffer.byteLength(text));
  });

  it('takes the weighted mean per character', () => {
    const e = ensembleSurprisal([
      { surprisal: Float64Array.from([1, 4]), weight: 1 },
      { surprisal: Float64Array.from([4, 1]), weight: 2 },
    ]);
    expect([...e]).toEqual([3, 2]);
  });
});
