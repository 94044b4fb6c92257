import { describe, expect, it } from 'vitest';
import { ControllerMetrics } from '../../../controller/observability/metrics.ts';
import { closeAfterEach } from '../../helpers/close-after-each.ts';
import { postJson, startTestController } from '../../helpers/controller.ts';
import { startFakeVllm } from '../../helpers/fake-vllm.ts';
import { writeKeyStoreFile } from '../../helpers/key-store-file.ts';
import { tempDir } from '../../helpers/temp-dir.ts';

const started = closeAfterEach();

/** A slow single backend (100 ms per batch of at most 16 texts, one at a time) and two API keys. */
async function slowStack() {
  const backend = started.add(await startFakeVllm({ servedName: 'slow', delayMs: 100 }));
  const { store, keys } = writeKeyStoreFile(tempDir('ep-overload-'), ['k0', 'k1']);
  const controller = started.add(
    await startTestController(
      {
        models: [{ name: 'slow', backends: [backend.url] }],
        scheduler: { maxInflightPerBackend: 1, maxBatchPrompts: 16 },
        cache: { maxBytes: 0 },
        health: { probeIntervalMs: 600_000 },
        auth: { store, requestsPerMinute: 10_000, tokensPerMinute: 100_000_000 },
      },
      { metrics: new ControllerMetrics({ processMetrics: false }) },
    ),
  );
  const url = `${controller.url}/v1/perplexity`;
  const as = (k: number) => ({ authorization: `Bearer ${keys[k]!.key}` });
  // Warm up: the scheduler measures the backend's rate from real answers.
  const warm = await postJson(url, { texts: lines('warm', 32) }, as(0));
  expect(warm.status).toBe(200);
  return { url, as };
}

const lines = (tag: string, n: number) =>
  Array.from({ length: n }, (_, i) => `Line ${i} of the ${tag} batch, with a few words to score.`);

/** Starts a request without waiting for it; the test's cleanup aborts it (before closing the stack). */
function background(url: string, body: unknown, headers: Record<string, string>) {
  const controllerOfFetch = new AbortController();
  started.add({ close: () => controllerOfFetch.abort() });
  void fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: controllerOfFetch.signal,
  }).catch(() => {});
}

describe('overload', () => {
  it("serves another key's single text in about a batch time, not after the first key's backlog", async () => {
    const { url, as } = await slowStack();
    // About 60 batches: 6 s of backend work for key 0.
    background(url, { texts: lines('backlog', 960) }, as(0));
    await new Promise((r) => setTimeout(r, 300));
    const sentAt = performance.now();
    const res = await postJson(url, { texts: ['A single line from another key.'] }, as(1));
    const ms = performance.now() - sentAt;
    expect(res.status).toBe(200);
    expect(ms).toBeLessThan(2_000);
  });

  it('refuses at once, with an honest Retry-After, what the queue cannot finish before the deadline', async () => {
    const { url, as } = await slowStack();
    background(url, { texts: lines('backlog', 960) }, as(0));
    await new Promise((r) => setTimeout(r, 300));
    const sentAt = performance.now();
    const res = await postJson(url, { texts: lines('late', 200), timeout_ms: 1_500 }, as(1));
    expect(performance.now() - sentAt).toBeLessThan(1_000);
    expect(res.status).toBe(503);
    expect(res.json.error.type).toBe('overloaded');
    // Several seconds of queued work beyond the deadline: the client is told so, not "retry in 1 s".
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(2);
    // What fits in its deadline is still admitted.
    const small = await postJson(
      url,
      { texts: ['One line that fits.'], timeout_ms: 10_000 },
      as(1),
    );
    expect(small.status).toBe(200);
  });

  it('reports the queue wait in /metrics', async () => {
    const { url } = await slowStack();
    const metrics = await fetch(url.replace('/v1/perplexity', '/metrics')).then((r) => r.text());
    expect(metrics).toMatch(/ep_queue_wait_seconds_count\{model="slow"\} [1-9]/);
  });
});
