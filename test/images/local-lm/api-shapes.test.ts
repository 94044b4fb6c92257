import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalLm, type LocalLmServer } from '../../../images/local-lm/index.ts';
import { get, post, scoringRequest, type CompletionBody } from './helpers.ts';
import { rawLogprobDicts } from './ordered-json.ts';

const MAX_LEN = 64;
let llama: LocalLmServer;
let gpt2: LocalLmServer;

beforeAll(async () => {
  llama = await startLocalLm({ model: 'llama-sotu', maxModelLen: MAX_LEN });
  gpt2 = await startLocalLm({ model: 'gpt2-brown', maxModelLen: MAX_LEN });
}, 120_000);

afterAll(async () => {
  await Promise.all([llama?.close(), gpt2?.close()]);
});

const scoring = (prompt: unknown, extra: Record<string, unknown> = {}) =>
  scoringRequest('llama-sotu', prompt, extra);

describe('POST /v1/completions response shape', () => {
  it('returns one choice per prompt with element 0 null and one dict per later position', async () => {
    const res = await post(llama.url, '/v1/completions', scoring(['We the people', 'Hello world']));
    expect(res.status).toBe(200);
    const body = res.json as CompletionBody;
    expect(body.object).toBe('text_completion');
    expect(body.model).toBe('llama-sotu');
    expect(body.id).toMatch(/^cmpl-[0-9a-f]{32}$/);
    expect(body.choices.map((c) => c.index)).toEqual([0, 1]);
    let promptTokens = 0;
    for (const c of body.choices) {
      const ids = c.prompt_token_ids!;
      expect(ids[0]).toBe(1); // BOS added by default
      expect(c.prompt_logprobs).toHaveLength(ids.length);
      expect(c.prompt_logprobs![0]).toBeNull();
      for (let j = 1; j < ids.length; j++) {
        const entry = c.prompt_logprobs![j]![String(ids[j])]!;
        expect(entry.logprob).toBeLessThan(0);
        expect(entry.rank).toBeGreaterThanOrEqual(1);
        expect(typeof entry.decoded_token).toBe('string');
      }
      expect(c.token_ids).toHaveLength(1); // echo + max_tokens 0 still generates one token internally
      expect(c).toMatchObject({ logprobs: null, finish_reason: 'length', stop_reason: null });
      promptTokens += ids.length;
    }
    expect(body.choices[0]!.text).toBe('We the people');
    expect(body.usage).toEqual({
      prompt_tokens: promptTokens,
      total_tokens: promptTokens + 2,
      completion_tokens: 2,
      prompt_tokens_details: null,
    });
  });

  it('lists the actual token first, then the top-k: k+1 entries outside the top-k, k inside', async () => {
    const k = 3;
    const res = await post(
      llama.url,
      '/v1/completions',
      scoring('We, the people of the zebra, and the world.', { prompt_logprobs: k }),
    );
    const ids = (res.json as CompletionBody).choices[0]!.prompt_token_ids!;
    const dicts = rawLogprobDicts(res.text);
    expect(dicts).toHaveLength(ids.length - 1);
    let outside = 0;
    let inside = 0;
    let smallerIdInTop = 0;
    dicts.forEach((entries, j) => {
      const actual = ids[j + 1]!;
      expect(entries[0]!.token).toBe(actual);
      const ranks = entries.slice(1).map((e) => Number(e.rank));
      if (entries.length === k + 1) {
        outside++;
        expect(ranks).toEqual([1, 2, 3]);
      } else {
        inside++;
        expect(entries).toHaveLength(k);
        expect([Number(entries[0]!.rank), ...ranks].sort()).toEqual([1, 2, 3]);
      }
      if (entries.slice(1).some((e) => e.token < actual)) smallerIdInTop++;
    });
    expect(outside).toBeGreaterThan(0);
    expect(inside).toBeGreaterThan(0);
    // The raw bytes keep insertion order even where JSON.parse would move a smaller id first.
    expect(smallerIdInTop).toBeGreaterThan(0);
  });

  it('prompt_logprobs 0 gives only the actual token; token-id prompts are taken as-is', async () => {
    const res = await post(
      llama.url,
      '/v1/completions',
      scoring(
        [
          [1, 15043, 3186],
          [15043, 3186],
        ],
        { prompt_logprobs: 0 },
      ),
    );
    const body = res.json as CompletionBody;
    expect(body.choices[0]!.prompt_token_ids).toEqual([1, 15043, 3186]);
    expect(body.choices[1]!.prompt_token_ids).toEqual([15043, 3186]);
    for (const d of rawLogprobDicts(res.text)) expect(d).toHaveLength(1);
    const single = await post(
      llama.url,
      '/v1/completions',
      scoring([1, 15043, 3186], { prompt_logprobs: 0 }),
    );
    expect((single.json as CompletionBody).choices).toHaveLength(1);
  });

  it('writes floats like Python (no integer-looking logprobs)', async () => {
    const res = await post(llama.url, '/v1/completions', scoring('Hello world'));
    for (const d of rawLogprobDicts(res.text))
      for (const e of d) expect(e.logprob).toMatch(/^-?\d+\.\d+(e-\d\d+)?$|^-?\d+(\.\d+)?e-\d\d+$/);
  });

  it('generates text when max_tokens > 0 and omits token ids unless asked', async () => {
    const res = await post(llama.url, '/v1/completions', {
      prompt: 'The state of the',
      max_tokens: 3,
    });
    const c = (res.json as CompletionBody).choices[0]!;
    expect(c.text.length).toBeGreaterThan(0);
    expect(c).not.toHaveProperty('prompt_token_ids');
    expect(c.prompt_logprobs).toBeNull();
    expect((res.json as CompletionBody).usage.completion_tokens).toBe(3);
  });

  it('supports the classic echo logprobs form', async () => {
    const res = await post(llama.url, '/v1/completions', {
      prompt: 'We the people',
      echo: true,
      logprobs: 1,
      max_tokens: 0,
    });
    const lp = (
      res.json as {
        choices: {
          logprobs: {
            tokens: string[];
            token_logprobs: (number | null)[];
            text_offset: number[];
            top_logprobs: unknown[];
          };
        }[];
      }
    ).choices[0]!.logprobs;
    expect(lp.token_logprobs[0]).toBeNull();
    expect(lp.top_logprobs[0]).toBeNull();
    expect(lp.tokens).toHaveLength(lp.token_logprobs.length);
    expect(lp.text_offset[0]).toBe(0);
  });
});

describe('tokenizer endpoints', () => {
  it('adds BOS for Llama-style models only with add_special_tokens', async () => {
    const withBos = (await post(llama.url, '/tokenize', { prompt: 'Hello world' })).json as {
      tokens: number[];
      count: number;
      max_model_len: number;
      token_strs: null;
    };
    const without = (
      await post(llama.url, '/tokenize', { prompt: 'Hello world', add_special_tokens: false })
    ).json as { tokens: number[] };
    expect(withBos.tokens).toEqual([1, ...without.tokens]);
    expect(withBos).toMatchObject({ count: 3, max_model_len: MAX_LEN, token_strs: null });
  });

  it('adds nothing for GPT-2-style models (like phi-2)', async () => {
    const a = (
      await post(gpt2.url, '/tokenize', { prompt: 'Hello world', return_token_strs: true })
    ).json as { tokens: number[]; token_strs: string[] };
    const b = (
      await post(gpt2.url, '/tokenize', { prompt: 'Hello world', add_special_tokens: false })
    ).json as { tokens: number[] };
    expect(a.tokens).toEqual(b.tokens);
    expect(a.tokens).toEqual([15496, 995]);
    expect(a.token_strs).toEqual(['Hello', 'Ġworld']);
  });

  it('detokenizes', async () => {
    const res = await post(gpt2.url, '/detokenize', { tokens: [15496, 995] });
    expect(res.json).toEqual({ prompt: 'Hello world' });
  });
});

describe('discovery endpoints', () => {
  it('GET /v1/models reports the served name and max_model_len', async () => {
    const res = await get(llama.url, '/v1/models');
    const data = res.json as { object: string; data: Record<string, unknown>[] };
    expect(data.object).toBe('list');
    expect(data.data[0]).toMatchObject({
      id: 'llama-sotu',
      object: 'model',
      owned_by: 'vllm',
      parent: null,
      max_model_len: MAX_LEN,
    });
    expect(typeof data.data[0]!.root).toBe('string');
  });

  it('GET /health, /version and /metrics answer like vLLM', async () => {
    const health = await get(llama.url, '/health');
    expect(health.status).toBe(200);
    expect(health.text).toBe('');
    expect(((await get(llama.url, '/version')).json as { version: string }).version).toMatch(
      /^\d+\.\d+\.\d+/,
    );
    const metrics = await get(llama.url, '/metrics');
    expect(metrics.text).toMatch(/^vllm:num_requests_running\{.*model_name="llama-sotu".*\} \d/m);
    expect(metrics.text).toMatch(/^vllm:num_requests_waiting\{.*model_name="llama-sotu".*\} \d/m);
  });

  it('unknown paths get FastAPI 404s', async () => {
    const res = await get(llama.url, '/nope');
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ detail: 'Not Found' });
  });
});

describe('responsiveness', () => {
  it('answers health probes while a large request is being scored', async () => {
    const prompts = Array.from(
      { length: 1024 },
      (_, i) =>
        `We the people of the United States, number ${i}, in order to form a more perfect union.`,
    );
    let bigDone = false;
    const big = post(
      llama.url,
      '/v1/completions',
      scoring(prompts, { prompt_logprobs: 5 }),
      60_000,
    ).finally(() => (bigDone = true));
    // Count probes sent while the big request was being scored and answered before it finished.
    let answeredWhileScoring = 0;
    while (!bigDone) {
      const scoring = llama.stats().running > 0;
      const ok = (await get(llama.url, '/health')).status === 200;
      if (scoring && ok && !bigDone) answeredWhileScoring++;
      await new Promise((r) => setTimeout(r, 5));
    }
    expect((await big).status).toBe(200);
    expect(answeredWhileScoring).toBeGreaterThan(0);
  }, 60_000);
});
