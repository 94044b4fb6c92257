import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningController } from '../../controller/main.ts';
import { startLocalFleet } from '../../images/local-lm/index.ts';
import type { LocalFleet } from '../../images/local-lm/index.ts';
import { postJson, startTestController } from '../helpers/controller.ts';

const MAX_MODEL_LEN = 64;

/** Straight to a backend, without the controller: tokenize, prefix, score, and sum the logprobs by token id. */
async function direct(url: string, model: string, prefix: number, text: string) {
  const tok = (
    await postJson(`${url}/tokenize`, { model, prompt: text, add_special_tokens: false })
  ).json;
  const ids: number[] = [prefix, ...tok.tokens];
  const res = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model,
      prompt: [ids],
      max_tokens: 0,
      echo: true,
      prompt_logprobs: 1,
      temperature: 0,
    }),
  });
  const raw = JSON.parse(await res.text());
  const positions = raw.choices[0].prompt_logprobs;
  let nll = 0;
  for (let j = 1; j < ids.length; j++) nll -= positions[j][String(ids[j])].logprob;
  return { nll, tokens: ids.length - 1, count: tok.tokens.length };
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('controller over the four local-lm models', () => {
  let fleet: LocalFleet;
  let controller: RunningController;

  beforeAll(async () => {
    fleet = await startLocalFleet({ host: '127.0.0.1', maxModelLen: MAX_MODEL_LEN });
    controller = await startTestController({
      models: fleet.servers.map((s) => ({ name: s.servedName, backends: [s.url] })),
    });
  }, 120_000);
  afterAll(async () => {
    await controller?.close();
    await fleet?.close();
  });

  it('matches an independent recomputation from the raw prompt_logprobs of every model', async () => {
    const texts = ['The ship sailed across the sea at dawn.', 'Numbers: 3.14159, and ünïcödé too!'];
    const { status, json } = await postJson(`${controller.url}/v1/perplexity`, { texts });
    expect(status).toBe(200);
    const models = (await fetch(`${controller.url}/v1/models`).then((r) => r.json())) as any;
    for (const [i, text] of texts.entries()) {
      const logPpl: number[] = [];
      const bpb: number[] = [];
      for (const server of fleet.servers) {
        const info = models.data.find((m: any) => m.id === server.servedName);
        const want = await direct(server.url, server.servedName, info.prefix_token_id, text);
        const got = json.results[i].models[server.servedName];
        expect(got.tokens).toBe(want.tokens);
        expect(rel(got.nll, want.nll)).toBeLessThanOrEqual(1e-9);
        expect(rel(got.perplexity, Math.exp(want.nll / want.tokens))).toBeLessThanOrEqual(1e-9);
        const bytes = Buffer.byteLength(text);
        expect(rel(got.bits_per_byte, want.nll / (bytes * Math.LN2))).toBeLessThanOrEqual(1e-9);
        logPpl.push(want.nll / want.tokens);
        bpb.push(want.nll / (bytes * Math.LN2));
      }
      const mean = logPpl.reduce((a, b) => a + b) / logPpl.length;
      const ensemble = json.results[i].ensemble;
      expect(rel(ensemble.perplexity, Math.exp(mean))).toBeLessThanOrEqual(1e-9);
      expect(
        rel(ensemble.bits_per_byte, bpb.reduce((a, b) => a + b) / bpb.length),
      ).toBeLessThanOrEqual(1e-9);
      const sd = Math.sqrt(logPpl.reduce((a, b) => a + (b - mean) ** 2, 0) / logPpl.length);
      expect(rel(ensemble.spread, sd)).toBeLessThanOrEqual(1e-9);
    }
  });

  it('scores a text far longer than the context in windows, each token once', async () => {
    const text = Array.from(
      { length: 40 },
      (_, i) => `Sentence ${i} tells of the whale and the sea.`,
    ).join(' ');
    const { status, json } = await postJson(`${controller.url}/v1/perplexity`, { texts: [text] });
    expect(status).toBe(200);
    for (const server of fleet.servers) {
      const tok = (
        await postJson(`${server.url}/tokenize`, { prompt: text, add_special_tokens: false })
      ).json;
      const got = json.results[0].models[server.servedName];
      expect(got.tokens).toBe(tok.tokens.length);
      expect(got.windows).toBe(Math.ceil(tok.tokens.length / (MAX_MODEL_LEN - 2)));
      expect(Number.isFinite(got.perplexity)).toBe(true);
    }
  });

  it('shows models that disagree, and natural text scoring better than shuffled words', async () => {
    const natural = 'The old sailor told the children a long story about the sea.';
    const shuffled = 'sea story children the a old about told sailor long The the.';
    const { json } = await postJson(`${controller.url}/v1/perplexity`, {
      texts: [natural, shuffled],
    });
    expect(json.results[0].ensemble.perplexity).toBeLessThan(json.results[1].ensemble.perplexity);
    expect(json.results[0].ensemble.spread).toBeGreaterThan(0.05);
  });
});
