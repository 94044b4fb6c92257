import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { learnJoinRule, splitAtSpaces } from '../../../controller/scheduler/chunked-tokenize.ts';

const ids = new Map<string, number>();
const id = (token: string) => ids.get(token) ?? (ids.set(token, ids.size), ids.size - 1);
/** Byte-level BPE in miniature: a word with its leading space is one token, a run of spaces another. */
const bpe = async (text: string) => (text.match(/ ?[^ ]+| +/g) ?? []).map(id);
/** Sentencepiece in miniature: a dummy prefix space, then the same splitting. */
const sentencepiece = async (text: string) => bpe(` ${text}`);

describe('learnJoinRule', () => {
  it('keeps the space for byte-level BPE and drops it for sentencepiece', async () => {
    expect(await learnJoinRule(bpe)).toBe('keep-space');
    expect(await learnJoinRule(sentencepiece)).toBe('drop-space');
  });

  it('refuses a tokenizer that follows neither rule', async () => {
    const chars = async (t: string) => [t.length, ...[...t].map((c) => c.charCodeAt(0))];
    expect(await learnJoinRule(chars)).toBeNull();
  });
});

describe('splitAtSpaces', () => {
  const text = fc
    .array(
      fc.oneof(
        fc.constantFrom(' ', '  ', '\n'),
        fc.string({ minLength: 1, maxLength: 12 }),
        fc.constantFrom('é', '✓', '𝄞'),
      ),
      {
        maxLength: 80,
      },
    )
    .map((parts) => parts.join(''));

  it('makes pieces within the byte budget that rebuild the text by the join rule', () => {
    fc.assert(
      fc.property(
        text,
        fc.integer({ min: 1, max: 40 }),
        fc.constantFrom('keep-space', 'drop-space'),
        (t, max, rule) => {
          const pieces = splitAtSpaces(t, max, rule as 'keep-space' | 'drop-space');
          for (const p of pieces) {
            const cps = [...p];
            expect(Buffer.byteLength(p) <= max || cps.length === 1).toBe(true);
          }
          if (rule === 'keep-space') expect(pieces.join('')).toBe(t);
          // With drop-space a cut at a word boundary loses exactly one space, which joining with ' ' restores;
          // hard cuts inside a word lose nothing, so compare without whitespace.
          else expect(pieces.join('').replace(/\s/g, '')).toBe(t.replace(/\s/g, ''));
        },
      ),
    );
  });

  it('tokenizes in pieces exactly like the whole text when every cut is at a word boundary', async () => {
    const words = Array.from(
      { length: 200 },
      (_, i) => `word${i % 17}${i % 3 === 0 ? ',' : ''}`,
    ).join(' ');
    for (const [tok, rule] of [
      [bpe, 'keep-space'],
      [sentencepiece, 'drop-space'],
    ] as const) {
      const pieces = splitAtSpaces(words, 50, rule);
      expect(pieces.length).toBeGreaterThan(10);
      const joined = (await Promise.all(pieces.map(tok))).flat();
      expect(joined).toEqual(await tok(words));
    }
  });
});
