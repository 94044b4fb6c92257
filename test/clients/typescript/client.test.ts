import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiResponseError,
  EnsembledPerplexityClient,
  EnsembledPerplexityError,
  StreamError,
  isSummaryLine,
} from '../../../clients/typescript/src/index.ts';
import type { StreamLine } from '../../../clients/typescript/src/index.ts';
import type { RunningController } from '../../../controller/main.ts';
import { startTestController } from '../../helpers/controller.ts';
import { startFakeVllm } from '../../helpers/fake-vllm.ts';
import type { FakeVllm } from '../../helpers/fake-vllm.ts';

describe('EnsembledPerplexityClient', () => {
  let a: FakeVllm;
  let b: FakeVllm;
  let controller: RunningController;
  let client: EnsembledPerplexityClient;

  beforeAll(async () => {
    a = await startFakeVllm({ servedName: 'a' });
    b = await startFakeVllm({ servedName: 'b', addsBos: false, delayMs: 5 });
    controller = await startTestController({
      models: [
        { name: 'a', backends: [a.url] },
        { name: 'b', backends: [b.url] },
      ],
      scheduler: { maxBatchPrompts: 16 },
    });
    client = new EnsembledPerplexityClient({ baseUrl: controller.url, timeoutMs: 20_000 });
  });
  afterAll(async () => {
    await client?.close();
    await controller?.close();
    await a?.close();
    await b?.close();
  });

  it('scores, lists models and reports readiness with typed answers', async () => {
    const res = await client.perplexity({ texts: ['one', 'two'] });
    expect(res.results.map((r) => r.index)).toEqual([0, 1]);
    expect(res.models_used.sort()).toEqual(['a', 'b']);
    expect((await client.models()).data.map((m) => m.id)).toEqual(['a', 'b']);
    expect((await client.ready()).ready).toBe(true);
    expect(await client.legacyModelNames()).toEqual(['a', 'b']);
    const legacy = await client.legacyPerplexity(['hello'], ['a']);
    expect(Object.keys(legacy)).toEqual(['a']);
  });

  it('streams results then the summary', async () => {
    const texts = Array.from({ length: 300 }, (_, i) => `streamed text ${i}`);
    const lines: StreamLine[] = [];
    for await (const line of client.perplexityStream({ texts })) lines.push(line);
    expect(lines).toHaveLength(301);
    const last = lines.at(-1) as StreamLine;
    expect(isSummaryLine(last) && last.summary.usage.texts).toBe(300);
    const indexes = lines
      .filter((l) => !isSummaryLine(l))
      .map((l) => (l as { index: number }).index);
    expect(new Set(indexes).size).toBe(300);
  });

  it("delivers a text's own error as its stream line, without ending the stream", async () => {
    const lines: StreamLine[] = [];
    for await (const line of client.perplexityStream({ texts: ['', 'words here'] }))
      lines.push(line);
    const results = lines.filter((l) => !isSummaryLine(l)) as { index: number; error?: unknown }[];
    expect(results.find((r) => r.index === 0)?.error).toMatchObject({ type: 'empty_text' });
    expect(results.find((r) => r.index === 1)?.error).toBeUndefined();
    expect(isSummaryLine(lines.at(-1) as StreamLine)).toBe(true);
  });

  it('throws ApiResponseError with status, type and param', async () => {
    const err = await client.perplexity({ texts: ['x'], models: ['missing'] }).catch((e) => e);
    expect(err).toBeInstanceOf(ApiResponseError);
    expect(err).toMatchObject({
      code: 'EP_API_ERROR',
      status: 404,
      type: 'model_not_found',
      param: 'models[0]',
    });
    expect(err.retryable).toBe(false);
    const bad = await client.perplexity({ texts: [] }).catch((e) => e);
    expect(bad).toMatchObject({ status: 400, param: 'texts' });
  });

  it('throws StreamError when the stream fails after it started', async () => {
    const c = await startFakeVllm({ servedName: 'c', delayMs: 20 });
    const d = await startFakeVllm({ servedName: 'd', delayMs: 20 });
    const ctl = await startTestController({
      models: [
        { name: 'c', backends: [c.url] },
        { name: 'd', backends: [d.url] },
      ],
      scheduler: { maxBatchPrompts: 8 },
    });
    const cl = new EnsembledPerplexityClient({ baseUrl: ctl.url });
    try {
      const texts = Array.from({ length: 2000 }, (_, i) => `doomed ${i}`);
      let received = 0;
      const failure = await (async () => {
        for await (const line of cl.perplexityStream({ texts })) {
          if (!isSummaryLine(line) && ++received === 1) await d.close();
        }
      })().catch((e) => e);
      expect(failure).toBeInstanceOf(StreamError);
      expect(failure.code).toBe('EP_STREAM_ERROR');
      expect(received).toBeGreaterThan(0);
    } finally {
      await cl.close();
      await ctl.close();
      await c.close();
    }
  });

  it('reports an unreachable server as EP_CONNECTION and refuses keys in the URL', async () => {
    const dead = new EnsembledPerplexityClient({ baseUrl: 'http://127.0.0.1:1', timeoutMs: 2000 });
    const err = await dead.ready().catch((e) => e);
    expect(err).toBeInstanceOf(EnsembledPerplexityError);
    expect(err.code).toBe('EP_CONNECTION');
    await dead.close();
    expect(() => new EnsembledPerplexityClient({ baseUrl: 'http://h/?api_key=x' })).toThrow(
      /apiKey/,
    );
  });
});
