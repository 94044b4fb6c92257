import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningController } from '../../controller/main.ts';
import { BOS, EOS, fakeLogprob, startFakeVllm, tokenIds } from '../helpers/fake-vllm.ts';
import type { FakeVllm } from '../helpers/fake-vllm.ts';
import { postJson, startTestController } from '../helpers/controller.ts';

/** Independent recomputation from the fake model's definition. */
function expected(text: string, prefix: number) {
  const ids = tokenIds(text);
  let nll = 0;
  let prev = prefix;
  for (const id of ids) {
    nll -= fakeLogprob(prev, id);
    prev = id;
  }
  const bytes = Buffer.byteLength(text);
  return {
    nll,
    tokens: ids.length,
    perplexity: Math.exp(nll / ids.length),
    bits_per_byte: nll / (bytes * Math.LN2),
  };
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

describe('POST /v1/perplexity against vLLM-shaped backends', () => {
  let withBos: FakeVllm;
  let noBos: FakeVllm;
  let controller: RunningController;

  beforeAll(async () => {
    withBos = await startFakeVllm({ servedName: 'llama-like', addsBos: true, maxModelLen: 64 });
    noBos = await startFakeVllm({ servedName: 'gpt2-like', addsBos: false, maxModelLen: 48 });
    controller = await startTestController({
      models: [
        { name: 'bos', backends: [withBos.url] },
        { name: 'nobos', backends: [noBos.url] },
      ],
      // Ask for the top-1 alternative too, so the wire has keys in an order JSON.parse changes.
      scheduler: { promptLogprobs: 1 },
    });
  });
  afterAll(async () => {
    await controller?.close();
    await withBos?.close();
    await noBos?.close();
  });

  it('reports figures equal to an independent recomputation (relative error ≤ 1e-9)', async () => {
    const texts = ['Hello world', 'The cat sat on the mat.', 'ünïcødé ✓ text'];
    const { status, json } = await postJson(`${controller.url}/v1/perplexity`, { texts });
    expect(status).toBe(200);
    expect(json.results).toHaveLength(3);
    for (const [i, text] of texts.entries()) {
      const result = json.results[i];
      expect(result.index).toBe(i);
      for (const [model, prefix] of [
        ['bos', BOS],
        ['nobos', EOS],
      ] as const) {
        const want = expected(text, prefix);
        const got = result.models[model];
        expect(got.tokens).toBe(want.tokens);
        expect(rel(got.nll, want.nll)).toBeLessThanOrEqual(1e-9);
        expect(rel(got.perplexity, want.perplexity)).toBeLessThanOrEqual(1e-9);
        expect(rel(got.bits_per_byte, want.bits_per_byte)).toBeLessThanOrEqual(1e-9);
        expect(got.windows).toBe(1);
      }
      const a = expected(text, BOS);
      const b = expected(text, EOS);
      const la = a.nll / a.tokens;
      const lb = b.nll / b.tokens;
      expect(rel(result.ensemble.perplexity, Math.exp((la + lb) / 2))).toBeLessThanOrEqual(1e-9);
      expect(
        rel(result.ensemble.bits_per_byte, (a.bits_per_byte + b.bits_per_byte) / 2),
      ).toBeLessThanOrEqual(1e-9);
      expect(
        rel(result.ensemble.byte_perplexity, 2 ** ((a.bits_per_byte + b.bits_per_byte) / 2)),
      ).toBeLessThanOrEqual(1e-9);
      expect(rel(result.ensemble.spread, Math.abs(la - lb) / 2)).toBeLessThanOrEqual(1e-9);
      expect(result.ensemble.degraded).toBe(false);
    }
    expect(json.models_used).toEqual(['bos', 'nobos']);
    expect(json.usage.texts).toBe(3);
  });

  it('takes each logprob by token id although JSON key order puts the top-1 alternative first', async () => {
    const { json } = await postJson(`${controller.url}/v1/perplexity`, {
      texts: ['abc'],
      models: ['bos'],
    });
    const raw = withBos.completions.at(-1)?.raw ?? '';
    // The wire bytes list the actual token first; JSON.parse moves key "3" (a smaller id) in front.
    expect(raw).toMatch(/\{"100":\{"logprob":[^}]+\},"3":/);
    const parsedKeys = Object.keys(JSON.parse(raw).choices[0].prompt_logprobs[1]);
    expect(parsedKeys[0]).toBe('3');
    expect(rel(json.results[0].models.bos.nll, expected('abc', BOS).nll)).toBeLessThanOrEqual(1e-9);
  });

  it('scores the first token of a model without BOS (prefix = EOS) and does not double-count BOS', async () => {
    const { json } = await postJson(`${controller.url}/v1/perplexity`, { texts: ['x'] });
    expect(json.results[0].models.nobos.tokens).toBe(1);
    expect(json.results[0].models.bos.tokens).toBe(1);
    const sent = noBos.completions.at(-1)?.body.prompt as number[][];
    expect(sent[0]).toEqual([EOS, ...tokenIds('x')]);
  });

  it('scores a text longer than the context in windows, every token exactly once, without a backend 400', async () => {
    const text = 'The quick brown fox jumps over the lazy dog. '.repeat(6).trim();
    const before = withBos.completions.length;
    const { status, json } = await postJson(`${controller.url}/v1/perplexity`, { texts: [text] });
    expect(status).toBe(200);
    for (const [model, prefix, maxLen] of [
      ['bos', BOS, 64],
      ['nobos', EOS, 48],
    ] as const) {
      const got = json.results[0].models[model];
      expect(got.tokens).toBe(Buffer.byteLength(text));
      expect(got.windows).toBe(Math.ceil(Buffer.byteLength(text) / (maxLen - 2)));
      expect(rel(got.nll, expected(text, prefix).nll)).toBeLessThanOrEqual(1e-9);
    }
    for (const call of withBos.completions.slice(before)) {
      for (const p of call.body.prompt as number[][]) expect(p.length).toBeLessThanOrEqual(63);
    }
  });

  it('keeps 1000 texts in request order and never mixes texts across concurrent requests', async () => {
    const many = Array.from({ length: 1000 }, (_, i) => `text number ${i} ${'z'.repeat(i % 7)}`);
    const big = postJson(`${controller.url}/v1/perplexity`, { texts: many });
    const small = Array.from({ length: 20 }, (_, r) =>
      postJson(`${controller.url}/v1/perplexity`, {
        texts: Array.from({ length: 10 }, (_, i) => `request ${r} item ${i}`),
      }),
    );
    const [bigRes, ...smallRes] = await Promise.all([big, ...small]);
    expect(bigRes.status).toBe(200);
    bigRes.json.results.forEach((r: any, i: number) => {
      expect(r.index).toBe(i);
      expect(rel(r.models.bos.nll, expected(many[i] as string, BOS).nll)).toBeLessThanOrEqual(1e-9);
      expect(rel(r.models.nobos.nll, expected(many[i] as string, EOS).nll)).toBeLessThanOrEqual(
        1e-9,
      );
    });
    smallRes.forEach((res, r) => {
      res.json.results.forEach((x: any, i: number) => {
        expect(
          rel(x.models.nobos.nll, expected(`request ${r} item ${i}`, EOS).nll),
        ).toBeLessThanOrEqual(1e-9);
      });
    });
  });

  it('reports an empty text and a -inf logprob on their own text without failing the others', async () => {
    const sentinel = await startFakeVllm({
      servedName: 's',
      overrideLogprob: (ids, j) => (ids[j] === tokenIds('#')[0] ? -9999 : undefined),
    });
    const c = await startTestController({ models: [{ name: 's', backends: [sentinel.url] }] });
    try {
      const { status, json, text } = await postJson(`${c.url}/v1/perplexity`, {
        texts: ['fine', '', 'bad # token', 'also fine'],
      });
      expect(status).toBe(200);
      expect(text).not.toMatch(/NaN|Infinity|null/);
      expect(json.results[0].ensemble.perplexity).toBeGreaterThan(1);
      expect(json.results[1].error).toMatchObject({ type: 'empty_text', param: 'texts[1]' });
      expect(json.results[2].error).toMatchObject({ type: 'invalid_logprob', param: 'texts[2]' });
      expect(json.results[2].models.s.error.param).toBe('texts[2]');
      expect(json.results[3].ensemble.perplexity).toBeGreaterThan(1);
    } finally {
      await c.close();
      await sentinel.close();
    }
  });

  it('answers old-API requests in the old shapes', async () => {
    const names = await fetch(`${controller.url}/ensemble_model_names`).then((r) => r.json());
    expect(names).toEqual(['bos', 'nobos']);
    const { status, json } = await postJson(`${controller.url}/ensemble_perplexity`, {
      prompts: ['Hello world', 'abc'],
    });
    expect(status).toBe(200);
    expect(Object.keys(json)).toEqual(['bos', 'nobos']);
    expect(rel(json.bos[1], expected('abc', BOS).perplexity)).toBeLessThanOrEqual(1e-9);
    expect(rel(json.nobos[0], expected('Hello world', EOS).perplexity)).toBeLessThanOrEqual(1e-9);
    const only = await postJson(`${controller.url}/ensemble_perplexity?model_names=nobos`, {
      prompts: ['abc'],
    });
    expect(Object.keys(only.json)).toEqual(['nobos']);
  });

  it.each([
    [{ texts: 'abc' }, 400, 'texts'],
    [{ texts: [] }, 400, 'texts'],
    [{ texts: ['a', 3] }, 400, 'texts[1]'],
    [{ texts: ['a'], models: ['nope'] }, 404, 'models[0]'],
    [{ texts: ['a'], models: ['bos', 'bos'] }, 400, 'models[1]'],
    [{ texts: ['a'], min_models: 3 }, 400, 'min_models'],
    [{ texts: ['a'], weights: { bos: -1 } }, 400, 'weights.bos'],
    [{ texts: ['a'], weights: { other: 1 } }, 400, 'weights.other'],
    [{ texts: ['a'], details: 'all' }, 400, 'details'],
    [{ texts: ['a'], surprise: true }, 400, 'surprise'],
    [{ texts: ['\ud800 lone'] }, 400, 'texts[0]'],
    [{ texts: ['a'], timeout_ms: 0 }, 400, 'timeout_ms'],
  ])('rejects %j with %i naming %s', async (body, status, param) => {
    const res = await postJson(`${controller.url}/v1/perplexity`, body);
    expect(res.status).toBe(status);
    expect(res.json.error.type).toEqual(expect.any(String));
    expect(res.json.error.message).toEqual(expect.any(String));
    expect(res.json.error.param).toBe(param);
  });

  it('rejects malformed JSON, oversize bodies and keys in the URL with JSON errors', async () => {
    const bad = await postJson(`${controller.url}/v1/perplexity`, '{"texts": [');
    expect(bad.status).toBe(400);
    expect(bad.json.error.type).toBe('invalid_request');
    const huge = await postJson(`${controller.url}/v1/perplexity`, {
      texts: ['x'.repeat(11 * 1024 * 1024)],
    });
    expect(huge.status).toBe(413);
    expect(huge.json.error.type).toBe('payload_too_large');
    // The message says how to send a job this large.
    expect(huge.json.error.message).toMatch(/Accept: application\/x-ndjson/);
    const inUrl = await postJson(`${controller.url}/v1/perplexity?api_key=abc`, { texts: ['a'] });
    expect(inUrl.status).toBe(400);
    expect(inUrl.json.error.param).toBe('api_key');
    const plain = await fetch(`${controller.url}/v1/perplexity`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ texts: ['a'] }),
    });
    expect(plain.status).toBe(415);
    expect(((await plain.json()) as any).error.type).toBe('unsupported_media_type');
    const get = await fetch(`${controller.url}/v1/perplexity`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    const after = await postJson(`${controller.url}/v1/perplexity`, { texts: ['still serving'] });
    expect(after.status).toBe(200);
  });

  it('returns token details with offsets that point into the text', async () => {
    const text = 'Hi there';
    const { json } = await postJson(`${controller.url}/v1/perplexity`, {
      texts: [text],
      details: 'tokens',
      models: ['bos'],
    });
    const details = json.results[0].models.bos.token_details;
    expect(details).toHaveLength(8);
    details.forEach((t: any, i: number) => expect(t.offset).toBe(i));
  });
});

describe('a backend that mishandles prompt_logprobs: 0', () => {
  it('is scored with prompt_logprobs: 1 instead, every text correct', async () => {
    const backend = await startFakeVllm({ emptyDictsAtZero: true });
    const controller = await startTestController({
      models: [{ name: 'm', backends: [backend.url] }],
    });
    try {
      const { status, json } = await postJson(`${controller.url}/v1/perplexity`, {
        texts: ['abc', 'xyz'],
      });
      expect(status).toBe(200);
      expect(rel(json.results[0].models.m.nll, expected('abc', BOS).nll)).toBeLessThanOrEqual(1e-9);
      expect(rel(json.results[1].models.m.nll, expected('xyz', BOS).nll)).toBeLessThanOrEqual(1e-9);
      expect(backend.completions.at(-1)?.body.prompt_logprobs).toBe(1);
    } finally {
      await controller.close();
      await backend.close();
    }
  });
});

describe('a backend whose /tokenize refuses texts longer than the context', () => {
  it('tokenizes a long text in pieces and scores every token once', async () => {
    const backend = await startFakeVllm({
      addsBos: false,
      maxModelLen: 48,
      refuseLongTokenize: true,
    });
    const controller = await startTestController({
      models: [{ name: 'm', backends: [backend.url] }],
    });
    try {
      const text = Array.from({ length: 30 }, (_, i) => `word${i}`).join(' ');
      const { status, json } = await postJson(`${controller.url}/v1/perplexity`, { texts: [text] });
      expect(status).toBe(200);
      const got = json.results[0].models.m;
      expect(got.tokens).toBe(Buffer.byteLength(text));
      expect(got.windows).toBeGreaterThan(1);
      expect(rel(got.nll, expected(text, EOS).nll)).toBeLessThanOrEqual(1e-9);
    } finally {
      await controller.close();
      await backend.close();
    }
  });
});
