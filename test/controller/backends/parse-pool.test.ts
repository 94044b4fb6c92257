import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parseScoredChoiceBytes } from '../../../controller/backends/fast-completion-parser.ts';
import { ParsePool } from '../../../controller/backends/parse-pool.ts';
import { packChoices, unpackChoices } from '../../../controller/backends/packed-choices.ts';
import { tokenText } from '../../../controller/scoring/token-texts.ts';

/** A float32 logprob widened to double (as vLLM writes them), sometimes missing or the −9999 stand-in. */
const logprob = fc.oneof(
  { weight: 8, arbitrary: fc.float({ min: -30, max: 0, noNaN: true }).map(Math.fround) },
  { weight: 1, arbitrary: fc.constant(-9999) },
  { weight: 1, arbitrary: fc.constant(null) },
);

const choice = fc.array(fc.tuple(fc.integer({ min: 0, max: 300_000 }), logprob), {
  minLength: 1,
  maxLength: 40,
});

/** A body in vLLM's layout: per position the actual token first, then one alternative. */
function render(choices: [number, number | null][][], text: string): string {
  const list = choices.map((tokens, index) => {
    const positions = tokens.map(([id, lp], j) =>
      j === 0
        ? 'null'
        : `{"${id}":{"logprob":${JSON.stringify(lp)},"rank":1,"decoded_token":${JSON.stringify(text)}},"${id + 1}":{"logprob":-1.5,"rank":2,"decoded_token":"x"}}`,
    );
    return `{"index":${index},"text":"","logprobs":null,"finish_reason":"length","prompt_logprobs":[${positions.join(',')}],"prompt_token_ids":[${tokens.map(([id]) => id).join(',')}]}`;
  });
  return `{"id":"cmpl-1","object":"text_completion","choices":[${list.join(',')}],"usage":null}`;
}

/** Equal ids, and logprobs equal bit for bit (NaN where there is none). */
function expectIdentical(
  a: { ids: Int32Array; logprobs: Float64Array }[] | undefined,
  b: { ids: Int32Array; logprobs: Float64Array }[] | undefined,
): void {
  expect(a).toBeDefined();
  expect(b).toBeDefined();
  expect(a!.length).toBe(b!.length);
  a!.forEach((choice, i) => {
    expect(Array.from(choice.ids)).toEqual(Array.from(b![i]!.ids));
    expect(choice.logprobs.length).toBe(b![i]!.logprobs.length);
    choice.logprobs.forEach((lp, j) => expect(Object.is(lp, b![i]!.logprobs[j])).toBe(true));
  });
}

describe('parse pool (worker threads)', () => {
  const pool = new ParsePool({ threads: 2, minWorkerBytes: 0 });
  afterAll(() => pool.close());

  it('reads the same ids and logprobs in a worker as the in-thread parser on the same bytes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(choice, { minLength: 1, maxLength: 6 }),
        fc.string({ maxLength: 6 }),
        async (choices, text) => {
          const body = render(choices, text);
          const inThread = parseScoredChoiceBytes(Buffer.from(body), choices.length);
          const outcome = await pool.parse(Buffer.from(body), choices.length);
          expectIdentical(outcome.choices, inThread);
          // With the token texts: the same texts, handed over as one string and its offsets.
          const textsInThread = parseScoredChoiceBytes(Buffer.from(body), choices.length, true);
          const withTexts = await pool.parse(Buffer.from(body), choices.length, true);
          expectIdentical(withTexts.choices, textsInThread);
          withTexts.choices!.forEach((c, i) => {
            const want = textsInThread![i]!.texts!;
            const got = c.texts!;
            for (let k = 0; k < c.ids.length; k++) {
              expect(tokenText(got, k)).toBe(tokenText(want, k));
            }
          });
        },
      ),
      { numRuns: 60 },
    );
    expect(pool.size).toBeGreaterThan(0);
  });

  it('spreads concurrent answers over its threads and keeps each answer with its request', async () => {
    const bodies = Array.from({ length: 16 }, (_, k) =>
      render(
        Array.from({ length: 20 }, (_, p) =>
          Array.from({ length: 30 }, (_, j): [number, number] => [
            k * 1000 + p * 31 + j,
            -(j + k) / 7,
          ]),
        ),
        'w',
      ),
    );
    const outcomes = await Promise.all(bodies.map((b) => pool.parse(Buffer.from(b), 20)));
    outcomes.forEach((o, k) =>
      expectIdentical(o.choices, parseScoredChoiceBytes(Buffer.from(bodies[k]!), 20)),
    );
    expect(pool.size).toBe(2);
  });

  it('hands back a body it does not know, intact, for the JSON.parse path', async () => {
    const body = '{"choices":[{"index":0,"prompt_token_ids":[1,2],"prompt_logprobs":"odd"}]}';
    const outcome = await pool.parse(Buffer.from(body), 1);
    expect(outcome.choices).toBeUndefined();
    expect(outcome.bytes.toString('utf8')).toBe(body);
    expect((await pool.parse(Buffer.from('{"choices":[]}'), 1)).choices).toBeUndefined();
  });

  it('reads small answers in place, without a worker', async () => {
    const small = new ParsePool({ threads: 2 });
    const body = render(
      [
        [
          [1, null],
          [5, -0.5],
        ],
      ],
      'a',
    );
    const outcome = await small.parse(Buffer.from(body), 1);
    expect(Array.from(outcome.choices![0]!.logprobs)).toEqual([NaN, -0.5]);
    expect(small.size).toBe(0);
    await small.close();
  });

  it('packs choices into typed arrays and unpacks them as views, token for token', () => {
    const choices = [
      { ids: Int32Array.of(1, 2, 3), logprobs: Float64Array.of(NaN, -1, -2) },
      { ids: Int32Array.of(9), logprobs: Float64Array.of(NaN) },
    ];
    const packed = packChoices(choices);
    expect(Array.from(packed.starts)).toEqual([0, 3, 4]);
    expectIdentical(unpackChoices(packed), choices);
  });
});
