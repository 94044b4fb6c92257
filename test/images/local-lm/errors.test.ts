import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, startLocalLm, type LocalLmServer } from '../../../images/local-lm/index.ts';
import { post } from './helpers.ts';

const MAX_LEN = 32;
let server: LocalLmServer;
let oldFormat: LocalLmServer;

beforeAll(async () => {
  const model = await loadModel('llama-sotu');
  server = await startLocalLm({ model, maxModelLen: MAX_LEN });
  oldFormat = await startLocalLm({ model, maxModelLen: MAX_LEN, errorFormat: 'old' });
}, 120_000);

afterAll(async () => {
  await Promise.all([server?.close(), oldFormat?.close()]);
});

const base = { max_tokens: 0, echo: true, prompt_logprobs: 1 };
/** `n` token ids: BOS then repeats of " a". */
const ids = (n: number) => [1, ...Array<number>(n - 1).fill(263)];

async function expectError(body: unknown, status: number, param: string | null, message: RegExp) {
  const res = await post(server.url, '/v1/completions', body);
  expect(res.status).toBe(status);
  const err = (
    res.json as { error: { message: string; type: string; param: string | null; code: number } }
  ).error;
  expect(err).toMatchObject({
    param,
    code: status,
    type: status === 404 ? 'NotFoundError' : 'BadRequestError',
  });
  expect(err.message).toMatch(message);
}

describe('vLLM request errors', () => {
  it('404s a model name that is not the served one', async () => {
    await expectError(
      { ...base, model: 'llama', prompt: 'hi' },
      404,
      'model',
      /The model `llama` does not exist/,
    );
    const tok = await post(server.url, '/tokenize', { model: 'nope', prompt: 'hi' });
    expect(tok.status).toBe(404);
  });

  it('rejects an empty prompt, alone or inside a list (the whole list fails)', async () => {
    await expectError({ ...base, prompt: '' }, 400, 'prompt', /must be provided and non-empty/);
    await expectError({ ...base, prompt: ['fine', ''] }, 400, 'prompt', /non-empty/);
    await expectError({ ...base, prompt: [] }, 400, 'prompt', /non-empty/);
  });

  it('caps prompt lists at 1024', async () => {
    await expectError(
      { ...base, prompt: Array<string>(1025).fill('a') },
      400,
      'prompt',
      /^prompt list length 1025 exceeds the maximum allowed count of 1024/,
    );
    const ok = await post(server.url, '/v1/completions', {
      ...base,
      prompt_logprobs: 0,
      prompt: Array<string>(1024).fill('a'),
    });
    expect(ok.status).toBe(200);
  });

  it('caps prompt_logprobs and logprobs at 20', async () => {
    await expectError(
      { ...base, prompt: 'hi', prompt_logprobs: 21 },
      400,
      'prompt_logprobs',
      /Requested prompt logprobs of 21, which is greater than max allowed: 20/,
    );
    await expectError(
      { ...base, prompt: 'hi', prompt_logprobs: -1 },
      400,
      'prompt_logprobs',
      /Requested prompt logprobs of 32000/,
    );
    await expectError(
      { ...base, prompt: 'hi', logprobs: 21 },
      400,
      'logprobs',
      /greater than max allowed: 20/,
    );
    expect(
      (await post(server.url, '/v1/completions', { ...base, prompt: 'hi', prompt_logprobs: 20 }))
        .status,
    ).toBe(200);
  });

  it('allows max_tokens 0 only with echo, and no streaming with prompt_logprobs', async () => {
    await expectError({ prompt: 'hi', max_tokens: 0 }, 400, 'max_tokens', /max_tokens/);
    await expectError({ ...base, prompt: 'hi', stream: true }, 400, 'prompt_logprobs', /stream/);
  });

  it('enforces the context length: max_model_len with echo + max_tokens 0, else max_model_len − max_tokens', async () => {
    expect(
      (await post(server.url, '/v1/completions', { ...base, prompt: ids(MAX_LEN) })).status,
    ).toBe(200);
    await expectError(
      { ...base, prompt: ids(MAX_LEN + 1) },
      400,
      'input_tokens',
      new RegExp(
        `^You passed ${MAX_LEN + 1} input tokens and requested 0 output tokens\\. However, the model's context length is only ${MAX_LEN} tokens, resulting in a maximum input length of ${MAX_LEN} tokens\\. Please reduce the length of the input prompt\\.$`,
      ),
    );
    expect((await post(server.url, '/v1/completions', { prompt: ids(MAX_LEN - 16) })).status).toBe(
      200,
    );
    await expectError(
      { prompt: ids(MAX_LEN - 15) },
      400,
      'input_tokens',
      /requested 16 output tokens.*maximum input length of 16 tokens/,
    );
  });

  it('rejects token ids outside the vocabulary and malformed JSON', async () => {
    await expectError({ ...base, prompt: [1, 32000] }, 400, 'prompt', /out of vocabulary/);
    const res = await post(server.url, '/v1/completions', '{"prompt":');
    expect(res.status).toBe(400);
  });

  it('ignores unknown fields', async () => {
    expect(
      (
        await post(server.url, '/v1/completions', {
          ...base,
          prompt: 'hi',
          top_k: 5,
          whatever: { a: 1 },
        })
      ).status,
    ).toBe(200);
  });

  it('can answer with the older flat error body', async () => {
    const res = await post(oldFormat.url, '/v1/completions', {
      ...base,
      model: 'other',
      prompt: 'hi',
    });
    expect(res.status).toBe(404);
    expect(res.json).toEqual({
      object: 'error',
      message: 'The model `other` does not exist.',
      type: 'NotFoundError',
      param: 'model',
      code: 404,
    });
    const bad = await post(oldFormat.url, '/v1/completions', { ...base, prompt: '' });
    expect(bad.json).toMatchObject({
      object: 'error',
      type: 'BadRequestError',
      code: 400,
      param: 'prompt',
    });
  });
});
