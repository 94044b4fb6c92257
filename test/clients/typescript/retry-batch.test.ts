import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiResponseError,
  EnsembledPerplexityClient,
  EnsembledPerplexityError,
} from '../../../clients/typescript/src/index.ts';
import type { RunningController } from '../../../controller/main.ts';
import { startTestController } from '../../helpers/controller.ts';
import { startFakeVllm } from '../../helpers/fake-vllm.ts';
import type { FakeVllm } from '../../helpers/fake-vllm.ts';

const OK_BODY = {
  results: [{ index: 0, models: {}, error: { type: 'empty_text', message: 'the text is empty' } }],
  models_used: [],
  degraded: false,
  usage: { texts: 1, tokens: 0, bytes: 0 },
};

/** A server that answers each request with the next scripted status (then 200), counting requests. */
async function scripted(
  answers: { status: number; headers?: Record<string, string> }[],
): Promise<{ url: string; requests: () => number; server: Server }> {
  let requests = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const answer = answers[requests++];
      if (!answer) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(OK_BODY));
        return;
      }
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(
        JSON.stringify({
          error: { type: 'rate_limit_exceeded', message: 'slow down', param: 'texts' },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests: () => requests, server };
}

describe('client retries', () => {
  it('waits out Retry-After on 429 and 503, then succeeds', async () => {
    const s = await scripted([
      { status: 429, headers: { 'retry-after': '1' } },
      { status: 503, headers: { 'retry-after': '0' } },
    ]);
    const client = new EnsembledPerplexityClient({ baseUrl: s.url });
    try {
      const started = performance.now();
      const response = await client.perplexity({ texts: [''] });
      expect(response.results[0]?.error?.type).toBe('empty_text');
      expect(s.requests()).toBe(3);
      expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    } finally {
      await client.close();
      s.server.close();
    }
  });

  it('throws a typed error with type, message, param, status and retryAfter when retries run out', async () => {
    const s = await scripted([{ status: 429, headers: { 'retry-after': '7' } }]);
    const client = new EnsembledPerplexityClient({ baseUrl: s.url, retry: { retries: 0 } });
    try {
      const err = await client.perplexity({ texts: ['x'] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiResponseError);
      expect(err).toMatchObject({
        status: 429,
        type: 'rate_limit_exceeded',
        message: 'slow down',
        param: 'texts',
        retryAfter: 7,
        code: 'EP_API_ERROR',
      });
    } finally {
      await client.close();
      s.server.close();
    }
  });

  it('does not sleep through a Retry-After beyond maxDelayMs, and an abort ends a wait at once', async () => {
    const long = await scripted([{ status: 503, headers: { 'retry-after': '120' } }]);
    const wait = await scripted([{ status: 503, headers: { 'retry-after': '30' } }]);
    const a = new EnsembledPerplexityClient({ baseUrl: long.url });
    const b = new EnsembledPerplexityClient({ baseUrl: wait.url });
    try {
      let started = performance.now();
      await expect(a.perplexity({ texts: ['x'] })).rejects.toMatchObject({
        status: 503,
        retryAfter: 120,
      });
      expect(performance.now() - started).toBeLessThan(1000);
      started = performance.now();
      const err = await b
        .perplexity({ texts: ['x'] }, { signal: AbortSignal.timeout(200) })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EnsembledPerplexityError);
      expect((err as EnsembledPerplexityError).code).toBe('EP_ABORTED');
      expect(performance.now() - started).toBeLessThan(2000);
    } finally {
      await a.close();
      await b.close();
      long.server.close();
      wait.server.close();
    }
  });
});

describe('scoreBatch and scoreMany', () => {
  let a: FakeVllm;
  let controller: RunningController;
  let client: EnsembledPerplexityClient;

  beforeAll(async () => {
    a = await startFakeVllm({ servedName: 'a', delayMs: 2 });
    controller = await startTestController({
      models: [{ name: 'a', backends: [a.url] }],
      limits: { maxCharsPerText: 500, maxStreamBodyBytes: 4000, maxBodyBytes: 4000 },
      scheduler: { maxBatchPrompts: 4 },
    });
    client = new EnsembledPerplexityClient({ baseUrl: controller.url });
  });
  afterAll(async () => {
    await client?.close();
    await controller?.close();
    await a?.close();
  });

  const text = (i: number) => `text number ${i} `.repeat(20).trim();

  it('splits a batch the server finds too large and puts a bad text’s error on that text only', async () => {
    const texts = Array.from({ length: 30 }, (_, i) => (i === 11 ? 'y'.repeat(600) : text(i)));
    expect(Buffer.byteLength(JSON.stringify({ texts }))).toBeGreaterThan(4000);
    const seen: number[] = [];
    const outcomes = await client.scoreBatch(texts, { onResult: (i) => seen.push(i) });
    expect(outcomes).toHaveLength(30);
    expect(outcomes[11]).toMatchObject({ error: { type: 'invalid_request' } });
    expect(outcomes[11]?.error?.message).not.toMatch(/texts\[/);
    for (const [i, outcome] of outcomes.entries()) {
      if (i !== 11) expect(outcome.ensemble?.models_used).toEqual(['a']);
    }
    expect([...seen].sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });

  it('scoreMany yields every outcome in input order from a lazy source, and stops when the caller breaks', async () => {
    async function* source() {
      for (let i = 0; i < 200; i++) yield text(i % 7);
    }
    const perplexities: number[] = [];
    for await (const outcome of client.scoreMany(source(), { batch: 16, concurrency: 3 })) {
      perplexities.push(outcome.ensemble?.perplexity as number);
    }
    expect(perplexities).toHaveLength(200);
    // Same text, same score: outcome i belongs to text i.
    for (let i = 7; i < 200; i++) expect(perplexities[i]).toBe(perplexities[i % 7]);

    let taken = 0;
    for await (const _ of client.scoreMany(source(), { batch: 16 })) {
      if (++taken === 5) break;
    }
    expect(taken).toBe(5);
  });

  it('throws what no retry can fix (unknown model) instead of looping', async () => {
    await expect(
      client.scoreBatch(['a b'], { request: { models: ['nope'] } }),
    ).rejects.toMatchObject({ status: 404, type: 'model_not_found' });
  });
});
