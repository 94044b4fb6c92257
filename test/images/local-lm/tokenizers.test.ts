import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getTokenizer, TOKENIZER_IDS } from '../../../images/local-lm/tokenizers.ts';

// Special-token spellings of every family, and JavaScript property names that a lookup in a plain object would
// find on its prototype: texts that once crashed a tokenizer (and with it a whole batch on the backend).
const HOSTILE = [
  '<|im_start|>',
  '<|im_end|>',
  '<|endoftext|>',
  '<|endofprompt|>',
  '<|fim_prefix|>',
  '<|fim_middle|>',
  '<|fim_suffix|>',
  '<s>',
  '</s>',
  '<unk>',
  'constructor',
  'toString',
  '__proto__',
  'hasOwnProperty',
  'valueOf',
  'prototype',
];

/** Strings mixing hostile words with arbitrary Unicode, so a word is also tried inside and next to other text. */
const hostileText = fc
  .array(fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ unit: 'grapheme', maxLength: 12 })), {
    minLength: 1,
    maxLength: 6,
  })
  .map((parts) => parts.join(''));

function checkEncodes(id: (typeof TOKENIZER_IDS)[number], text: string): void {
  const tok = getTokenizer(id);
  for (const special of [true, false]) {
    const ids = tok.encode(text, special);
    for (const t of ids) {
      expect(Number.isInteger(t)).toBe(true);
      expect(t).toBeGreaterThanOrEqual(0);
      expect(t).toBeLessThan(tok.vocabSize);
    }
    expect(typeof tok.decode(ids)).toBe('string');
    for (const t of ids) {
      expect(typeof tok.decodedToken(t)).toBe('string');
      expect(typeof tok.tokenStr(t)).toBe('string');
    }
  }
}

describe('local-lm tokenizers take any string', () => {
  for (const id of TOKENIZER_IDS) {
    it(`${id}: special-token spellings and prototype property names`, () => {
      for (const word of HOSTILE) {
        checkEncodes(id, word);
        checkEncodes(id, `before ${word} after`);
      }
    });

    it(`${id}: fuzzed Unicode with hostile words mixed in`, () => {
      fc.assert(
        fc.property(hostileText, (text) => checkEncodes(id, text)),
        { numRuns: 60, seed: 12 },
      );
    });
  }

  it('cl100k matches a special-token spelling as that one token, as Hugging Face tokenizers do', () => {
    expect(getTokenizer('cl100k').encode('<|im_start|>', false)).toEqual([100264]);
  });
});
