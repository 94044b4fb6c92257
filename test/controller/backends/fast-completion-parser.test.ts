import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  parseScoredChoiceBytes,
  parseScoredChoices,
} from '../../../controller/backends/fast-completion-parser.ts';
import { toScoredChoice } from '../../../controller/backends/scored-choice.ts';
import { tokenText } from '../../../controller/scoring/token-texts.ts';
import type { CompletionChoice } from '../../../controller/backends/vllm-types.ts';

/** A logprob as vLLM writes it: a float32 widened to double, sometimes the −9999 stand-in for −∞. */
const logprob = fc.oneof(
  { weight: 8, arbitrary: fc.float({ min: -30, max: 0, noNaN: true }).map((x) => Math.fround(x)) },
  { weight: 1, arbitrary: fc.constant(-9999) },
  { weight: 1, arbitrary: fc.double({ min: -1e3, max: 0, noNaN: true }) },
);
const awkwardString = fc
  .string({ unit: 'grapheme-composite', maxLength: 8 })
  .map((s) => `${s}"}{\\,`);

interface Position {
  entries: [number, { logprob: unknown; rank: number | null; decoded_token: string | null }][];
}

/** One choice with its positions; the actual token may be missing and alternatives come in any order. */
const choice = fc
  .array(fc.integer({ min: 0, max: 200_000 }), { minLength: 1, maxLength: 12 })
  .chain((ids) =>
    fc.record({
      ids: fc.constant(ids),
      positions: fc.tuple(
        ...ids.map((id, j) =>
          j === 0
            ? fc.constant(null)
            : fc.oneof(
                { weight: 1, arbitrary: fc.constant(null) },
                {
                  weight: 12,
                  arbitrary: fc
                    .record({
                      keepActual: fc.boolean().map((b) => b || Math.random() < 0.9),
                      actual: logprob,
                      others: fc.array(fc.tuple(fc.integer({ min: 0, max: 200_000 }), logprob), {
                        maxLength: 3,
                      }),
                      rank: fc.option(fc.nat(), { nil: null }),
                      text: fc.option(awkwardString, { nil: null }),
                      nonNumber: fc.boolean().map((b) => b && Math.random() < 0.05),
                    })
                    .map(({ keepActual, actual, others, rank, text, nonNumber }): Position => {
                      const entries: Position['entries'] = others
                        .filter(([k]) => k !== id)
                        .map(([k, v]) => [k, { logprob: v, rank, decoded_token: text }]);
                      if (keepActual) {
                        entries.splice(Math.floor(Math.random() * (entries.length + 1)), 0, [
                          id,
                          { logprob: nonNumber ? null : actual, rank, decoded_token: text },
                        ]);
                      }
                      return { entries };
                    }),
                },
              ),
        ),
      ),
      extra: fc.option(awkwardString, { nil: undefined }),
      fieldOrder: fc.shuffledSubarray(
        ['index', 'text', 'prompt_logprobs', 'prompt_token_ids', 'extra'],
        {
          minLength: 5,
          maxLength: 5,
        },
      ),
    }),
  );

function render(choices: any[], pretty: boolean, reversed: boolean): string {
  const list = choices.map((c, index) => {
    const fields: Record<string, unknown> = {
      index,
      text: '',
      prompt_logprobs: c.positions.map((p: Position | null) =>
        p === null ? null : Object.fromEntries(p.entries.map(([k, v]) => [String(k), v])),
      ),
      prompt_token_ids: c.ids,
      extra: c.extra ?? { nested: [1, { deep: 'x' }], flag: true, none: null },
    };
    return Object.fromEntries((c.fieldOrder as string[]).map((k) => [k, fields[k]]));
  });
  if (reversed) list.reverse();
  const body = {
    id: 'cmpl-x',
    object: 'text_completion',
    choices: list,
    usage: { prompt_tokens: 1 },
  };
  // Object.fromEntries keeps integer-like keys in ascending order, as JSON.stringify then writes them; the
  // wire order of vLLM (actual token first) is covered by the controller tests against fake-vllm.
  return JSON.stringify(body, null, pretty ? 2 : undefined);
}

function expectSame(actual: number[] | Float64Array, expected: number[] | Float64Array): void {
  expect(actual.length).toBe(expected.length);
  for (let j = 0; j < expected.length; j++) {
    const a = actual[j] as number;
    const e = expected[j] as number;
    if (Number.isNaN(e)) expect(a).toBeNaN();
    else expect(Math.abs(a - e)).toBeLessThanOrEqual(Math.abs(e) * 1e-15);
  }
}

describe('fast completion parser', () => {
  it('reads the same ids and actual-token logprobs as JSON.parse, whatever the layout', () => {
    fc.assert(
      fc.property(
        fc.array(choice, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        fc.boolean(),
        (choices, pretty, reversed) => {
          const text = render(choices, pretty, reversed);
          const fast = parseScoredChoices(text, choices.length);
          const withTexts = parseScoredChoices(text, choices.length, true);
          expect(fast).toBeDefined();
          const parsed = (JSON.parse(text).choices as CompletionChoice[]).sort(
            (a, b) => a.index - b.index,
          );
          parsed.forEach((c, i) => {
            const slow = toScoredChoice(c, false);
            expect(fast![i]!.ids).toEqual(slow.ids);
            expectSame(fast![i]!.logprobs, slow.logprobs);
            expect(fast![i]!.texts).toBeUndefined();
            // The actual token's decoded text (escapes, quotes and astral characters included), or null.
            const slowTexts = toScoredChoice(c, true).texts!;
            const fastTexts = withTexts![i]!.texts!;
            const n = slow.ids.length;
            expect(Array.from({ length: n }, (_, k) => tokenText(fastTexts, k))).toEqual(
              Array.from({ length: n }, (_, k) => tokenText(slowTexts, k)),
            );
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reads plain decimals bit for bit as JSON.parse does', () => {
    fc.assert(
      fc.property(fc.double({ min: -1e4, max: 0, noNaN: true }), (x) => {
        const text = `{"choices":[{"index":0,"prompt_token_ids":[1,7],"prompt_logprobs":[null,{"7":{"logprob":${x},"rank":1,"decoded_token":"a"}}]}]}`;
        const want = JSON.parse(text).choices[0].prompt_logprobs[1]['7'].logprob as number;
        const got = parseScoredChoices(text, 1)![0]!.logprobs[1] as number;
        if (String(x).replace('-', '').replace('.', '').replace(/^0+/, '').length <= 15) {
          expect(Object.is(got, want)).toBe(true);
        } else expect(Math.abs(got - want)).toBeLessThanOrEqual(Math.abs(want) * 1e-15);
      }),
      { numRuns: 500 },
    );
  });

  it('reads token texts that are not valid UTF-8 as JSON.parse reads the decoded body', () => {
    const head = Buffer.from(
      '{"choices":[{"index":0,"prompt_token_ids":[1,7,8],"prompt_logprobs":[null,{"7":{"logprob":-1,"rank":1,"decoded_token":"a',
    );
    // A lone continuation byte and a cut 3-byte sequence, then an astral character and an escape.
    const middle = Buffer.from([0x80, 0x62, 0xe2, 0x82]);
    const tail = Buffer.from(
      String.raw`"}},{"8":{"logprob":-2,"rank":1,"decoded_token":"\u00e9\ud83d\ude00 \"q\""}}]}]}`,
    );
    const body = Buffer.concat([head, middle, tail]);
    const want = JSON.parse(body.toString('utf8')).choices[0] as CompletionChoice;
    const fast = parseScoredChoiceBytes(body, 1, true)![0]!.texts!;
    const slow = toScoredChoice(want, true).texts!;
    expect([0, 1, 2].map((k) => tokenText(fast, k))).toEqual(
      [0, 1, 2].map((k) => tokenText(slow, k)),
    );
  });

  it('gives up (so the caller uses JSON.parse) on anything cut short or not the expected shape', () => {
    const good = render(
      [
        {
          ids: [1, 5, 6],
          positions: [
            null,
            { entries: [[5, { logprob: -1, rank: 1, decoded_token: 'a' }]] },
            { entries: [[6, { logprob: -2, rank: 1, decoded_token: 'b' }]] },
          ],
          fieldOrder: ['index', 'text', 'prompt_logprobs', 'prompt_token_ids', 'extra'],
        },
      ],
      false,
      false,
    );
    expect(parseScoredChoices(good, 1)).toBeDefined();
    for (let cut = 0; cut < good.length; cut++) {
      expect(parseScoredChoices(good.slice(0, cut), 1)).toBeUndefined();
    }
    expect(parseScoredChoices(good, 2)).toBeUndefined();
    expect(
      parseScoredChoices(good.replace('"prompt_token_ids":[1,5,6]', '"prompt_token_ids":[1,5]'), 1),
    ).toBeUndefined();
    expect(parseScoredChoices(good.replace('"logprob":-1,', '"logprob":NaN,'), 1)).toBeUndefined();
    expect(parseScoredChoices(`${good}x`, 1)).toBeUndefined();
    expect(parseScoredChoices('{"choices":null}', 1)).toBeUndefined();
  });
});
