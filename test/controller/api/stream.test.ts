import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningController } from '../../../controller/main.ts';
import { postJson, startTestController } from '../../helpers/controller.ts';
import { startFakeVllm } from '../../helpers/fake-vllm.ts';
import type { FakeVllm } from '../../helpers/fake-vllm.ts';

const texts = (n: number, tag = 't') =>
  Array.from({ length: n }, (_, i) => `${tag} ${i}: the quick brown fox ${i % 97} jumps`);

async function streamLines(
  url: string,
  body: unknown,
): Promise<{ status: number; type: string | null; requestId: string | null; lines: any[] }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  const lines = res.headers.get('content-type')?.startsWith('application/x-ndjson')
    ? text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l))
    : [JSON.parse(text)];
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    requestId: res.headers.get('x-request-id'),
    lines,
  };
}

describe('POST /v1/perplexity with "stream": true', () => {
  let a: FakeVllm;
  let b: FakeVllm;
  let controller: RunningController;
  let url: string;

  beforeAll(async () => {
    a = await startFakeVllm({ servedName: 'a', addsBos: true });
    b = await startFakeVllm({ servedName: 'b', addsBos: false });
    controller = await startTestController({
      models: [
        { name: 'a', backends: [a.url] },
        { name: 'b', backends: [b.url] },
      ],
      // Small plain-body limit: the 5000-text stream (~250 kB) must be let through by its Accept header.
      limits: { maxTextsPerStream: 6000, maxBodyBytes: 100_000 },
      cache: { maxBytes: 0 },
    });
    url = `${controller.url}/v1/perplexity`;
  });
  afterAll(async () => {
    await controller?.close();
    await a?.close();
    await b?.close();
  });

  it('streams 5000 texts as 5000 NDJSON lines, each index once (completion order), then a summary', async () => {
    const input = texts(5000);
    const { status, type, lines, requestId } = await streamLines(url, {
      texts: input,
      stream: true,
    });
    expect(status).toBe(200);
    expect(type).toBe('application/x-ndjson');
    expect(requestId).toMatch(/^[\w-]{8,}$/);
    expect(lines).toHaveLength(5001);
    const results = lines.slice(0, 5000);
    const seen = new Set<number>();
    for (const line of results) {
      expect(Object.keys(line)).not.toContain('summary');
      expect(seen.has(line.index)).toBe(false);
      seen.add(line.index);
      expect(line.ensemble.models_used).toEqual(['a', 'b']);
    }
    expect([...seen].sort((x, y) => x - y)).toEqual(input.map((_, i) => i));
    const summary = lines[5000].summary;
    expect(summary.usage.texts).toBe(5000);
    expect(summary.models_used.sort()).toEqual(['a', 'b']);
    expect(summary.degraded).toBe(false);
    const tokens = results.reduce((n, r) => n + r.models.a.tokens + r.models.b.tokens, 0);
    expect(summary.usage.tokens).toBe(tokens);
  });

  it('gives each text the same figures as a whole-request call', async () => {
    const input = texts(40, 'same');
    const whole = await postJson(url, { texts: input });
    const { lines } = await streamLines(url, { texts: input, stream: true, details: 'tokens' });
    const byIndex = new Map(lines.filter((l) => 'index' in l).map((l) => [l.index, l]));
    expect(byIndex.size).toBe(40);
    for (const expected of whole.json.results) {
      const got = byIndex.get(expected.index);
      expect(got.ensemble.perplexity).toBeCloseTo(expected.ensemble.perplexity, 12);
      expect(got.models.a.nll).toBeCloseTo(expected.models.a.nll, 12);
      expect(got.models.a.token_details[0].offset).toBe(0);
    }
  });

  it('keeps per-text errors on their line', async () => {
    const { lines } = await streamLines(url, { texts: ['fine', '', 'also fine'], stream: true });
    const empty = lines.find((l) => l.index === 1);
    expect(empty.error.type).toBe('empty_text');
    expect(lines.at(-1).summary.usage.texts).toBe(3);
  });

  it('holds non-streamed requests to maxTextsPerRequest and streams to maxTextsPerStream', async () => {
    const plain = await postJson(url, { texts: texts(1001) });
    expect(plain.status).toBe(400);
    expect(plain.json.error.param).toBe('texts');
    expect(plain.json.error.message).toMatch(/stream/);
    const tooMany = await streamLines(url, { texts: texts(6001), stream: true });
    expect(tooMany.status).toBe(400);
    expect(tooMany.lines[0].error.param).toBe('texts');
  });

  it('admits a body over maxBodyBytes only for a stream that asks with Accept: application/x-ndjson', async () => {
    const big = texts(3000);
    expect((await postJson(url, { texts: big.slice(0, 1000), stream: false })).status).toBe(200);
    const plain = await postJson(url, { texts: big, stream: true });
    expect(plain.status).toBe(413);
    expect(plain.json.error.type).toBe('payload_too_large');
    const sneaky = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' },
      body: JSON.stringify({ texts: big.slice(0, 1000).map((t) => t.repeat(4)) }),
    });
    expect(sneaky.status).toBe(413);
    const streamed = await streamLines(url, { texts: big, stream: true });
    expect(streamed.status).toBe(200);
    expect(streamed.lines).toHaveLength(3001);
  });

  it('validates like a plain request before streaming (JSON error, not a stream)', async () => {
    const { status, type, lines } = await streamLines(url, {
      texts: ['x'],
      stream: true,
      models: ['nope'],
    });
    expect(status).toBe(404);
    expect(type).toMatch(/application\/json/);
    expect(lines[0].error.type).toBe('model_not_found');
  });
});

describe('a stream whose backend fails', () => {
  it('answers a failure before the first line with a JSON status, and one after it with an error line', async () => {
    const a = await startFakeVllm({ servedName: 'a', delayMs: 20 });
    const b = await startFakeVllm({ servedName: 'b', delayMs: 20 });
    const controller = await startTestController({
      models: [
        { name: 'a', backends: [a.url] },
        { name: 'b', backends: [b.url] },
      ],
      scheduler: { maxBatchPrompts: 8 },
      cache: { maxBytes: 0 },
    });
    try {
      const url = `${controller.url}/v1/perplexity`;
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ texts: texts(3000, 'fail'), stream: true }),
      });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      const first = await reader.read();
      expect(first.done).toBe(false);
      await b.close();
      let rest = new TextDecoder().decode(first.value);
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        rest += new TextDecoder().decode(r.value);
      }
      const lines = rest
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l));
      const last = lines.at(-1);
      expect(last.error.type).toMatch(/backend_unavailable|deadline_exceeded/);
      expect(lines.filter((l) => 'summary' in l)).toHaveLength(0);
      expect(lines.length).toBeLessThan(3001);

      // Now model b is down from the start: the first text already misses the quorum.
      const after = await postJson(url, { texts: texts(5, 'late'), stream: true });
      expect(after.status).toBe(503);
      expect(after.json.error).toBeDefined();
    } finally {
      await controller.close();
      await a.close();
    }
  });

  it('stops scoring when the client goes away', async () => {
    const a = await startFakeVllm({ servedName: 'a', delayMs: 30 });
    const controller = await startTestController({
      models: [{ name: 'a', backends: [a.url] }],
      scheduler: { maxBatchPrompts: 16, maxInflightPerBackend: 1 },
      cache: { maxBytes: 0 },
    });
    try {
      // A raw socket the test destroys: what a client that crashes or is killed looks like to the server.
      const body = JSON.stringify({ texts: texts(4000, 'gone'), stream: true });
      await new Promise<void>((resolve, reject) => {
        const req = request(
          `${controller.url}/v1/perplexity`,
          { method: 'POST', headers: { 'content-type': 'application/json' } },
          (res) => {
            res.once('data', () => {
              req.destroy();
              resolve();
            });
          },
        );
        req.once('error', reject);
        req.end(body);
      });
      // In-flight batches may still land; after that nothing new may be sent.
      await new Promise((r) => setTimeout(r, 500));
      const settled = a.completions.length;
      await new Promise((r) => setTimeout(r, 500));
      expect(a.completions.length).toBe(settled);
      // 4000 texts at 16 per batch would be 250 batches.
      expect(settled).toBeLessThan(250);
    } finally {
      await controller.close();
      await a.close();
    }
  });
});

describe('streamEnsemble', () => {
  it('ends (does not hang) when cancelled while its window waits, full, for a slow reader', async () => {
    const { streamEnsemble } = await import('../../../controller/ensemble/ensemble-stream.ts');
    const answer = { ok: true as const, score: { nll: 2, tokens: 2, windows: 1 }, cached: false };
    const model = {
      info: { name: 'm' },
      admit() {},
      scoreTexts: async (texts: readonly string[]) => texts.map(() => answer),
    };
    const cancel = new AbortController();
    const stream = streamEnsemble({
      texts: texts(50),
      models: [model as never],
      weights: new Map(),
      minModels: 1,
      withDetail: false,
      signal: cancel.signal,
      textTimeoutMs: 10_000,
      window: 4,
    });
    expect((await stream.next()).done).toBe(false);
    await new Promise((r) => setTimeout(r, 20));
    cancel.abort();
    const seen: unknown[] = [];
    const end = await (async () => {
      for (let r = await stream.next(); !r.done; r = await stream.next()) seen.push(r.value);
    })().catch((e) => e);
    expect(end).toBeInstanceOf(Error);
    expect(seen.length).toBeLessThanOrEqual(4);
  });
});
