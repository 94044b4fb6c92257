import { describe, expect, it } from 'vitest';
import { analyseText } from '../../../../controller/playground/client/text-analysis.ts';

const figures = (tokens: [string, number, number][]) => ({
  perplexity: 2,
  nll: 1,
  tokens: tokens.length,
  bits_per_byte: 1,
  windows: 1,
  token_details: tokens.map(([text, offset, bits]) => ({
    id: 0,
    text,
    offset,
    logprob: -bits * Math.LN2,
  })),
});
const ensemble = (extra: Record<string, unknown> = {}) => ({
  perplexity: 2,
  bits_per_byte: 1,
  byte_perplexity: 2,
  spread: 0,
  models_used: ['m'],
  degraded: false,
  missing_models: [],
  ...extra,
});

describe('analyseText', () => {
  const text = 'aaaa zzzz';
  const models = {
    m: figures([
      ['aaaa', 0, 1],
      [' zzzz', 4, 50],
    ]),
  };

  it('finds the hottest window itself when the server sends none', () => {
    const a = analyseText(text, { index: 0, ensemble: ensemble(), models }, ['m'], new Map(), 4);
    expect(a.window).toMatchObject({ start: 4, end: 8, source: 'browser', bitsPerChar: 10 });
    expect(a.spans).toEqual([]);
    expect(a.models).toEqual(['m']);
  });

  it('uses the server’s window and spans when present, dropping malformed ones', () => {
    const a = analyseText(
      text,
      {
        index: 0,
        ensemble: ensemble({
          max_window: { start: 3, end: 9, bits_per_byte: 7, percentile: 99 },
          spans: [
            { start: 5, end: 9, bits_per_byte: 8 },
            { start: 8, end: 20, bits_per_byte: 8 },
          ],
        }),
        models,
      },
      ['m'],
      new Map(),
    );
    expect(a.window).toEqual({
      start: 3,
      end: 9,
      source: 'server',
      bitsPerByte: 7,
      percentile: 99,
    });
    expect(a.spans).toEqual([{ start: 5, end: 9, bits_per_byte: 8 }]);
  });

  it('skips models that failed for the text, and draws no window without tokens', () => {
    const a = analyseText(
      text,
      { index: 0, ensemble: ensemble(), models: { m: { error: { type: 'x', message: 'y' } } } },
      ['m', 'absent'],
      new Map(),
    );
    expect(a.models).toEqual([]);
    expect(a.window).toBeUndefined();
  });
});
