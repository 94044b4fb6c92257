/**
 * The controller's vLLM client against local-lm: both sides read the same shapes (vLLM's completion API),
 * including an actual token outside the top-k and JSON key order that differs from the order on the wire.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendError } from '../../controller/backends/errors.ts';
import { discoverModel } from '../../controller/backends/model-info.ts';
import { VllmClient } from '../../controller/backends/vllm-client.ts';
import type { CompletionRequest } from '../../controller/backends/vllm-types.ts';
import { startLocalLm } from '../../images/local-lm/index.ts';
import type { LocalLmServer } from '../../images/local-lm/index.ts';
import { tokenText } from '../../controller/scoring/token-texts.ts';

const TEXT = 'Call me Ishmael. Some years ago, never mind how long precisely, I went to sea.';

function request(model: string, prompt: number[][] | string[], k = 1): CompletionRequest {
  return {
    model,
    prompt,
    max_tokens: 0,
    echo: true,
    prompt_logprobs: k,
    return_token_ids: true,
    temperature: 0,
  };
}

describe('controller vLLM client ↔ local-lm', () => {
  const servers: LocalLmServer[] = [];
  const clients: VllmClient[] = [];
  let llama: VllmClient;
  let gpt2: VllmClient;
  let oldErrors: VllmClient;

  beforeAll(async () => {
    for (const [model, errorFormat] of [
      ['llama-sotu', 'new'],
      ['gpt2-brown', 'new'],
      ['gpt2-brown', 'old'],
    ] as const) {
      const server = await startLocalLm({ model, maxModelLen: 48, errorFormat });
      servers.push(server);
      clients.push(new VllmClient({ baseUrl: server.url }));
    }
    [llama, gpt2, oldErrors] = clients as [VllmClient, VllmClient, VllmClient];
  }, 120_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(servers.map((s) => s.close()));
  });

  it('discovers served name, context length and the prefix rule of each tokenizer family', async () => {
    const l = await discoverModel(llama, { name: 'l' });
    expect(l).toMatchObject({
      servedName: 'llama-sotu',
      maxModelLen: 48,
      prefixTokenId: 1,
      textPrefix: '',
    });
    const g = await discoverModel(gpt2, { name: 'g' });
    expect(g).toMatchObject({ servedName: 'gpt2-brown', maxModelLen: 48, prefixTokenId: 50256 });
  });

  it('reads the actual token by id when it is outside the top-k and JSON.parse reorders the keys', async () => {
    const ids = [50256, ...(await gpt2.tokenize('gpt2-brown', TEXT, false)).tokens];
    const body = JSON.stringify(request('gpt2-brown', [ids]));
    const raw = await fetch(`${servers[1]?.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    }).then((r) => r.text());
    const parsed = JSON.parse(raw).choices[0].prompt_logprobs as Array<Record<
      string,
      { logprob: number }
    > | null>;
    // Find positions where the actual token is not the top-1 and has a larger id than it: on the wire the actual
    // token comes first, but JSON.parse iterates integer keys in ascending order.
    const reordered = ids
      .map((id, j) => ({ id, keys: parsed[j] ? Object.keys(parsed[j] as object) : [] }))
      .filter(({ id, keys }) => keys.length === 2 && keys[0] !== String(id));
    expect(reordered.length).toBeGreaterThan(0);
    for (const { id } of reordered) {
      // On the wire the position's object opens with the actual token.
      expect(raw).toMatch(new RegExp(`[\\[,]\\{"${id}":\\{"logprob":`));
    }
    const [fast] = await gpt2.scorePrompts(request('gpt2-brown', [ids]), undefined, false);
    const [withTexts] = await gpt2.scorePrompts(request('gpt2-brown', [ids]), undefined, true);
    expect(Array.from(fast?.ids ?? [])).toEqual(ids);
    for (let j = 1; j < ids.length; j++) {
      const entry = (parsed[j] as Record<string, { logprob: number; decoded_token: string }>)[
        String(ids[j])
      ];
      const want = entry?.logprob as number;
      // The byte scanner reads 17-digit numerals within a few ulps (documented in fast-completion-parser.ts).
      for (const read of [fast, withTexts]) {
        expect(Math.abs((read?.logprobs[j] as number) - want)).toBeLessThanOrEqual(
          Math.abs(want) * 1e-15,
        );
      }
      // The actual token's text, not the first key's.
      expect(tokenText(withTexts!.texts!, j)).toBe(entry?.decoded_token);
    }
    expect(Number.isNaN(fast?.logprobs[0])).toBe(true);
  });

  it('gets one choice per prompt, in prompt order, for text and token-id lists', async () => {
    const texts = ['one fish', 'two fish and more', 'red'];
    const choices = await llama.completions(request('llama-sotu', texts));
    expect(choices.map((c) => c.index)).toEqual([0, 1, 2]);
    for (const [i, text] of texts.entries()) {
      const want = (await llama.tokenize('llama-sotu', text, true)).tokens;
      expect(choices[i]?.prompt_token_ids).toEqual(want);
      expect(choices[i]?.prompt_logprobs[0]).toBeNull();
    }
  });

  it.each([
    ['new', () => gpt2],
    ['old', () => oldErrors],
  ])(
    'maps 400 and 404 in the %s error format to typed errors with the backend message',
    async (_f, client) => {
      const long = Array.from({ length: 60 }, () => 50256);
      const tooLong = await client()
        .completions(request('gpt2-brown', [long]))
        .catch((e: unknown) => e);
      expect(tooLong).toBeInstanceOf(BackendError);
      expect(tooLong).toMatchObject({
        code: 'BACKEND_REJECTED',
        status: 400,
        param: 'input_tokens',
      });
      expect((tooLong as Error).message).toMatch(/context length|input tokens/i);
      const wrongModel = await client()
        .completions(request('no-such-model', [[50256, 11]]))
        .catch((e: unknown) => e);
      expect(wrongModel).toMatchObject({ code: 'BACKEND_REJECTED', status: 404 });
    },
  );
});
