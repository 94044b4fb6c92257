import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  characterSurprisal,
  splitRuns,
  tokenPieces,
} from '../../../../controller/playground/client/surprisal.ts';

const tok = (text: string | null, offset: number | null, bits: number) => ({
  id: 0,
  text,
  offset,
  logprob: -bits * Math.LN2,
});

describe('tokenPieces', () => {
  it('spreads each token over the characters up to the next token, the last to the end', () => {
    const pieces = tokenPieces('The cat', [tok('The', 0, 3), tok(' cat', 3, 8)]);
    expect(pieces.map((p) => [p.start, p.end, p.tokenText])).toEqual([
      [0, 3, 'The'],
      [3, 7, ' cat'],
    ]);
    expect(pieces[1]?.bits).toBeCloseTo(8, 12);
  });

  it('adds unplaced tokens to the token before them, or to the first one, losing no surprisal', () => {
    const pieces = tokenPieces('héllo', [
      tok('<0xC3>', null, 1),
      tok('h', 0, 2),
      tok('<0xA9>', null, 4),
      tok('llo', 2, 8),
    ]);
    expect(pieces.map((p) => [p.start, p.end])).toEqual([
      [0, 2],
      [2, 5],
    ]);
    expect(pieces[0]?.bits).toBeCloseTo(7, 12);
    expect(pieces[1]?.bits).toBeCloseTo(8, 12);
  });

  it('covers the whole text even when no token could be placed, and ignores offsets out of order or range', () => {
    expect(tokenPieces('abc', [tok(null, null, 5)])).toEqual([
      { start: 0, end: 3, tokenText: '', bits: 5 },
    ]);
    const pieces = tokenPieces('abcd', [
      tok('a', 1, 1),
      tok('b', 1, 1),
      tok('x', 9, 1),
      tok('d', 3, 1),
    ]);
    expect(pieces.map((p) => [p.start, p.end])).toEqual([
      [0, 3],
      [3, 4],
    ]);
    expect(tokenPieces('', [tok('a', 0, 1)])).toEqual([]);
  });

  it('never starts a piece between the halves of a surrogate pair', () => {
    const pieces = tokenPieces('a😀b', [tok('a', 0, 1), tok('?', 2, 1), tok('b', 3, 1)]);
    expect(pieces.map((p) => p.start)).toEqual([0, 1, 3]);
  });

  it('keeps the total surprisal and tiles the text for any tokens (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.array(
          fc.record({
            offset: fc.option(fc.integer({ min: -2, max: 45 }), { nil: null }),
            bits: fc.double({ min: 0, max: 30, noNaN: true }),
          }),
          { maxLength: 30 },
        ),
        (text, tokens) => {
          const pieces = tokenPieces(
            text,
            tokens.map((t) => tok('t', t.offset, t.bits)),
          );
          const total = tokens.reduce((a, t) => a + t.bits, 0);
          expect(pieces.reduce((a, p) => a + p.bits, 0)).toBeCloseTo(total, 6);
          if (tokens.length === 0) return;
          expect(pieces[0]?.start).toBe(0);
          expect(pieces.at(-1)?.end).toBe(text.length);
          for (const [i, p] of pieces.entries()) {
            expect(p.end).toBeGreaterThan(p.start);
            if (i > 0) expect(p.start).toBe(pieces[i - 1]?.end);
          }
        },
      ),
    );
  });
});

describe('characterSurprisal', () => {
  it('takes the weighted mean over models of each character’s share of its token', () => {
    const text = 'abcd';
    const { runs, perChar } = characterSurprisal(text, [
      { model: 'm1', weight: 1, tokens: [tok('ab', 0, 4), tok('cd', 2, 8)] },
      { model: 'm2', weight: 3, tokens: [tok('a', 0, 1), tok('bcd', 1, 9)] },
    ]);
    expect(runs.map((r) => [r.start, r.end])).toEqual([
      [0, 1],
      [1, 2],
      [2, 4],
    ]);
    // a: m1 2 bits/char, m2 1 → (2 + 3·1)/4; b: (2 + 3·3)/4; c, d: (4 + 3·3)/4
    expect([...perChar]).toEqual([5 / 4, 11 / 4, 13 / 4, 13 / 4]);
    expect(runs[1]?.pieces.get('m2')).toMatchObject({ start: 1, end: 4, tokenText: 'bcd' });
  });

  it('leaves characters without a model as NaN', () => {
    const { perChar, runs } = characterSurprisal('ab', []);
    expect(Number.isNaN(perChar[0])).toBe(true);
    expect(runs).toHaveLength(1);
  });
});

describe('splitRuns', () => {
  it('cuts runs at window edges and keeps their figures', () => {
    const { runs } = characterSurprisal('abcdef', [
      { model: 'm', weight: 1, tokens: [tok('abc', 0, 3), tok('def', 3, 6)] },
    ]);
    const split = splitRuns(runs, [1, 3, 5, 0, 6]);
    expect(split.map((r) => [r.start, r.end, r.bitsPerChar])).toEqual([
      [0, 1, 1],
      [1, 3, 1],
      [3, 5, 2],
      [5, 6, 2],
    ]);
  });
});
