import { afterEach, describe, expect, it } from 'vitest';
import {
  fixedLatency,
  instantEngine,
  scriptedEngine,
  scriptedLogprob,
  scriptedTokenIds,
  startLocalLm,
  type CompletionExchange,
  type LocalLmServer,
} from '../../../images/local-lm/index.ts';
import { post, scoringRequest, type CompletionBody } from './helpers.ts';

const scoring = scoringRequest;

let servers: LocalLmServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});
async function serve(...args: Parameters<typeof startLocalLm>): Promise<LocalLmServer> {
  const server = await startLocalLm(...args);
  servers.push(server);
  return server;
}

describe('the scripted engine', () => {
  it('tokenizes one byte per token and scores each pair exactly, the top-1 alternative after the actual token', async () => {
    const s = await serve({ model: scriptedEngine({ name: 's' }), maxModelLen: 32 });
    const tok = await post(s.url, '/tokenize', { prompt: 'hé' });
    expect(tok.json).toMatchObject({ tokens: [1, ...scriptedTokenIds('hé')], count: 4 });

    const res = await post(s.url, '/v1/completions', scoring('s', ['ab']));
    expect(res.status).toBe(200);
    const [a, b] = scriptedTokenIds('ab') as [number, number];
    // Exact doubles: the scripted engine does not round to float32.
    expect(res.text).toContain(
      `"prompt_logprobs":[null,{"${a}":{"logprob":${scriptedLogprob(1, a)},"rank":7,`,
    );
    expect(res.text).toMatch(new RegExp(`\\{"${b}":\\{"logprob":[^}]+\\},"3":\\{"logprob":-0.05`));
    expect((res.json as CompletionBody).choices[0]!.prompt_token_ids).toEqual([1, a, b]);
  });

  it('is GPT-2 style without BOS: <|endoftext|> is EOS and nothing is prepended', async () => {
    const s = await serve({ model: scriptedEngine({ name: 'g', addsBos: false }) });
    expect((await post(s.url, '/tokenize', { prompt: '<|endoftext|>' })).json).toMatchObject({
      tokens: [2],
    });
    expect((await post(s.url, '/tokenize', { prompt: 'x' })).json).toMatchObject({
      tokens: scriptedTokenIds('x'),
    });
  });

  it('lets a test override a position, and writes −∞ as vLLM’s −9999 sentinel', async () => {
    const hash = scriptedTokenIds('#')[0];
    const s = await serve({
      model: scriptedEngine({
        name: 's',
        overrideLogprob: (ids, j) => (ids[j] === hash ? -Infinity : undefined),
      }),
    });
    const res = await post(s.url, '/v1/completions', scoring('s', ['a#']));
    expect(res.text).toContain(`"${hash}":{"logprob":-9999.0,`);
  });
});

describe('release quirks', () => {
  it('a /tokenize that refuses texts longer than the context answers 400 naming max_model_len', async () => {
    const s = await serve({
      model: scriptedEngine({ name: 's' }),
      maxModelLen: 8,
      quirks: { tokenizeRejectsOverlong: true },
    });
    expect((await post(s.url, '/tokenize', { prompt: 'abcdef' })).status).toBe(200);
    const long = await post(s.url, '/tokenize', { prompt: 'abcdefghij' });
    expect(long.status).toBe(400);
    expect(long.json).toMatchObject({ error: { param: 'max_model_len', code: 400 } });
  });

  it('prompt_logprobs: 0 yields empty dicts only where the quirk is on', async () => {
    const plain = await serve({ model: scriptedEngine({ name: 's' }) });
    const quirky = await serve({
      model: scriptedEngine({ name: 's' }),
      quirks: { emptyPromptLogprobsAtZero: true },
    });
    const body = scoring('s', ['abc'], { prompt_logprobs: 0 });
    const dicts = async (s: LocalLmServer) =>
      ((await post(s.url, '/v1/completions', body)).json as CompletionBody).choices[0]!
        .prompt_logprobs;
    expect(await dicts(quirky)).toEqual([null, {}, {}, {}]);
    const normal = await dicts(plain);
    expect(normal?.slice(1).every((d) => Object.keys(d!).length === 1)).toBe(true);
    // With alternatives asked for, the quirky release answers normally.
    const one = (await post(quirky.url, '/v1/completions', scoring('s', ['abc']))).json;
    expect((one as CompletionBody).choices[0]!.prompt_logprobs![1]).not.toEqual({});
  });
});

describe('server options every engine shares', () => {
  it('reports each completion’s request and response body to onCompletion, and delays by a fixed latency', async () => {
    const seen: CompletionExchange[] = [];
    const s = await serve({
      model: scriptedEngine({ name: 's' }),
      timing: fixedLatency(150),
      onCompletion: (e) => seen.push(e),
    });
    const started = performance.now();
    const res = await post(s.url, '/v1/completions', scoring('s', ['a', 'b']));
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.request.prompt).toEqual(['a', 'b']);
    expect(seen[0]!.response).toBe(res.text);
    // A rejected request is not an answered completion.
    await post(s.url, '/v1/completions', scoring('s', []));
    expect(seen).toHaveLength(1);
  });
});

describe('the choice cache (choiceCacheSize)', () => {
  it('answers a repeated text prompt from memory, byte for byte, and computes token prompts and new shapes', async () => {
    let scored = 0;
    const s = await serve({
      model: scriptedEngine({
        name: 's',
        overrideLogprob: () => {
          scored++;
          return undefined;
        },
      }),
      choiceCacheSize: 8,
    });
    const choicesOf = async (body: unknown) =>
      JSON.stringify(((await post(s.url, '/v1/completions', body)).json as CompletionBody).choices);
    const first = await choicesOf(scoring('s', ['abc', 'de']));
    const afterFirst = scored;
    expect(afterFirst).toBeGreaterThan(0);
    // Same prompts in another order: served from memory, each under its new index.
    const again = JSON.parse(await choicesOf(scoring('s', ['de', 'abc'])));
    expect(scored).toBe(afterFirst);
    const [abc, de] = JSON.parse(first);
    expect(again).toEqual([
      { ...de, index: 0 },
      { ...abc, index: 1 },
    ]);
    // Another request shape, or token ids, is scored again.
    await choicesOf(scoring('s', ['abc'], { prompt_logprobs: 0 }));
    expect(scored).toBeGreaterThan(afterFirst);
    const beforeIds = scored;
    await choicesOf(scoring('s', [[1, ...scriptedTokenIds('abc')]]));
    expect(scored).toBeGreaterThan(beforeIds);
  });
});

describe('the instant engine', () => {
  it('scores word tokens with float32 log-probs, the same with and without prepare', async () => {
    const engine = instantEngine({ name: 'i', addsBos: false });
    const s = await serve({ model: engine });
    const text = 'the quick brown fox';
    const prompt = engine.promptFor(text);
    expect(prompt).toBe(`<|endoftext|>${text}`);
    const cold = await post(s.url, '/v1/completions', scoring('i', [prompt]));
    engine.prepare([text]);
    const warm = await post(s.url, '/v1/completions', scoring('i', [prompt]));
    engine.forget();
    const choice = (cold.json as CompletionBody).choices[0]!;
    expect(choice.prompt_token_ids).toHaveLength(5);
    expect(choice.prompt_token_ids![0]).toBe(2);
    expect((warm.json as CompletionBody).choices[0]!.prompt_logprobs).toEqual(
      choice.prompt_logprobs,
    );
    for (const [j, dict] of choice.prompt_logprobs!.entries()) {
      if (j === 0) continue;
      const lp = dict![String(choice.prompt_token_ids![j])]!.logprob;
      expect(Math.fround(lp)).toBe(lp);
      expect(lp).toBeLessThan(0);
    }
    // Tokens decode to their words, as a real tokenizer's do, so they can be placed on the text.
    const decoded = choice
      .prompt_logprobs!.slice(1)
      .map((dict, j) => dict![String(choice.prompt_token_ids![j + 1])]!.decoded_token);
    expect(decoded).toEqual([' the', ' quick', ' brown', ' fox']);
  });
});
