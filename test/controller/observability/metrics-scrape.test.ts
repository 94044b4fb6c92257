import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningController } from '../../../controller/main.ts';
import { ControllerMetrics } from '../../../controller/observability/metrics.ts';
import { postJson, startTestController } from '../../helpers/controller.ts';
import { startFakeVllm, tokenIds } from '../../helpers/fake-vllm.ts';
import type { FakeVllm } from '../../helpers/fake-vllm.ts';
import { find, parsePrometheus, total } from './prom-text.ts';
import type { Sample } from './prom-text.ts';

describe('GET /metrics after traffic', () => {
  let bos: FakeVllm;
  let flaky: FakeVllm;
  let controller: RunningController;
  let samples: Sample[];
  let raw: string;
  /** Tokens the responses reported, per model. */
  const reported = new Map<string, number>();
  let textsAnswered = 0;

  const count = (response: { results: Array<{ models: Record<string, { tokens?: number }> }> }) => {
    for (const r of response.results) {
      textsAnswered++;
      for (const [model, figures] of Object.entries(r.models)) {
        if (figures.tokens !== undefined)
          reported.set(model, (reported.get(model) ?? 0) + figures.tokens);
      }
    }
  };

  beforeAll(async () => {
    bos = await startFakeVllm({ servedName: 'bos-model', addsBos: true });
    // "~" in a text makes this model answer −∞ for it: a per-model error, hence a degraded ensemble.
    flaky = await startFakeVllm({
      servedName: 'flaky-model',
      addsBos: false,
      overrideLogprob: (ids, j) => (ids[j] === tokenIds('~')[0] ? -9999 : undefined),
    });
    controller = await startTestController(
      {
        models: [
          { name: 'bos', backends: [bos.url] },
          { name: 'flaky', backends: [flaky.url] },
        ],
      },
      { metrics: new ControllerMetrics() },
    );
    const url = `${controller.url}/v1/perplexity`;

    for (let i = 0; i < 3; i++) {
      const res = await postJson(url, {
        texts: [`request ${i} first text`, `request ${i} second`],
      });
      expect(res.status).toBe(200);
      count(res.json);
    }
    // The same texts again: the result cache (when enabled) answers them.
    const again = await postJson(url, { texts: ['request 0 first text', 'request 0 second'] });
    expect(again.status).toBe(200);
    count(again.json);

    const degraded = await postJson(url, { texts: ['fine text', 'odd ~ text'], min_models: 1 });
    expect(degraded.status).toBe(200);
    expect(degraded.json.degraded).toBe(true);
    count(degraded.json);

    const streamed = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ texts: ['s1', 's2 text', 's3 more text', 's4', 's5'], stream: true }),
    });
    expect(streamed.status).toBe(200);
    const lines = (await streamed.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    count({ results: lines.filter((l) => 'index' in l) });

    expect((await postJson(url, { texts: [] })).status).toBe(400);
    expect((await fetch(`${controller.url}/wp-admin/setup-config.php`)).status).toBe(404);
    expect((await fetch(`${controller.url}/.env?x=1`)).status).toBe(404);

    const res = await fetch(`${controller.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    raw = await res.text();
    samples = parsePrometheus(raw);
  });
  afterAll(async () => {
    await controller?.close();
    await bos?.close();
    await flaky?.close();
  });

  it('counts requests by route pattern and status, streams included', () => {
    const perplexity = { method: 'POST', route: '/v1/perplexity' };
    // 3 + repeat + degraded + stream
    expect(
      total(samples, 'http_request_duration_seconds_count', { ...perplexity, status: '200' }),
    ).toBe(6);
    expect(
      total(samples, 'http_request_duration_seconds_count', { ...perplexity, status: '400' }),
    ).toBe(1);
    expect(
      total(samples, 'http_request_duration_seconds_sum', { ...perplexity, status: '200' }),
    ).toBeGreaterThan(0);
  });

  it('labels 404 scans with one "unmatched" route, never their raw paths', () => {
    expect(
      total(samples, 'http_request_duration_seconds_count', { route: 'unmatched', status: '404' }),
    ).toBe(2);
    expect(raw).not.toContain('wp-admin');
    expect(raw).not.toContain('.env');
  });

  it('counts tokens scored per model and per key id, matching the responses', () => {
    for (const [model, tokens] of reported) {
      expect(total(samples, 'ep_tokens_scored_total', { model })).toBe(tokens);
    }
    const all = [...reported.values()].reduce((a, b) => a + b, 0);
    expect(all).toBeGreaterThan(0);
    // No key store: every caller is "anonymous".
    expect(total(samples, 'ep_key_tokens_scored_total', { key_id: 'anonymous' })).toBe(all);
    expect(total(samples, 'ep_key_texts_scored_total', { key_id: 'anonymous' })).toBe(
      textsAnswered,
    );
    expect(
      total(samples, 'ep_key_requests_total', { key_id: 'anonymous', route: '/v1/perplexity' }),
    ).toBe(6);
  });

  it('counts the degraded response', () => {
    expect(total(samples, 'ep_degraded_responses_total', { route: '/v1/perplexity' })).toBe(1);
  });

  it('reports batches, backend latency, queue depth, backend health and cache lookups from the scheduler', () => {
    for (const model of ['bos', 'flaky']) {
      const batches = total(samples, 'ep_batch_prompts_count', { model });
      expect(batches).toBeGreaterThan(0);
      // Every text went out in some batch (the repeated request may be served from the cache).
      expect(total(samples, 'ep_batch_prompts_sum', { model })).toBeGreaterThanOrEqual(11);
      expect(total(samples, 'ep_batch_tokens_sum', { model })).toBeGreaterThan(0);
      expect(total(samples, 'ep_backend_request_duration_seconds_count', { model })).toBe(batches);
      expect(find(samples, 'ep_queue_depth', { model })).toHaveLength(1);
      expect(total(samples, 'ep_backend_state', { model, state: 'healthy' })).toBe(1);
      expect(total(samples, 'ep_backend_state', { model, state: 'unhealthy' })).toBe(0);
      const lookups = total(samples, 'ep_cache_lookups_total', { model });
      expect(lookups).toBeGreaterThanOrEqual(textsAnswered);
      expect(
        total(samples, 'ep_cache_lookups_total', { model, result: 'hit' }),
      ).toBeGreaterThanOrEqual(2);
    }
    expect(total(samples, 'ep_backend_errors_total')).toBe(0);
  });

  it('exports Node process metrics', () => {
    expect(find(samples, 'process_cpu_user_seconds_total')).toHaveLength(1);
    expect(total(samples, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
  });
});
