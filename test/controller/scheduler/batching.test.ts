import { describe, expect, it } from 'vitest';
import type { SchedulerObserver } from '../../../controller/observability/observer.ts';
import { closeAfterEach } from '../../helpers/close-after-each.ts';
import { postJson, startTestController } from '../../helpers/controller.ts';
import { startFakeVllm } from '../../helpers/fake-vllm.ts';
import { textPrompts, until } from './until.ts';

/** Counts what the scheduler reports. */
function recordingObserver() {
  const seen = { batches: 0, hits: 0, misses: 0, depths: [] as number[], states: [] as string[] };
  const observer: SchedulerObserver = {
    batchSent: () => void seen.batches++,
    batchDone: () => {},
    queueDepth: (_m, d) => void seen.depths.push(d),
    backendState: (_m, b, s) => void seen.states.push(`${b}:${s}`),
    cacheLookups: (_m, hits, misses) => {
      seen.hits += hits;
      seen.misses += misses;
    },
  };
  return { seen, observer };
}

const started = closeAfterEach();

async function setup(
  delayMs: number,
  extra: {
    cacheBytes?: number;
    maxStored?: number;
    maxQueued?: number;
    maxBatchPrompts?: number;
  } = {},
  observer?: SchedulerObserver,
) {
  const backend = started.add(await startFakeVllm({ servedName: 'busy', delayMs }));
  const controller = started.add(
    await startTestController(
      {
        models: [{ name: 'busy', backends: [backend.url] }],
        scheduler: {
          maxInflightPerBackend: 1,
          ...(extra.maxQueued ? { maxQueuedTexts: extra.maxQueued } : {}),
          ...(extra.maxBatchPrompts ? { maxBatchPrompts: extra.maxBatchPrompts } : {}),
        },
        cache: {
          maxBytes: extra.cacheBytes ?? 0,
          ...(extra.maxStored !== undefined ? { maxStoredTextsPerRequest: extra.maxStored } : {}),
        },
        // Probes would add batches of their own; keep them out of the counts.
        health: { probeIntervalMs: 600_000 },
      },
      observer ? { observer } : {},
    ),
  );
  return { backend, url: `${controller.url}/v1/perplexity` };
}

describe('cross-request batching', () => {
  it('sends N concurrent single-text requests to a busy backend as far fewer than N batches', async () => {
    const { seen, observer } = recordingObserver();
    const { backend, url } = await setup(150, {}, observer);
    const before = backend.completions.length;
    const n = 40;
    const answers = await Promise.all(
      Array.from({ length: n }, (_, i) => postJson(url, { texts: [`request number ${i}`] })),
    );
    for (const a of answers) expect(a.status).toBe(200);
    const batches = backend.completions
      .slice(before)
      .filter((c) => typeof (c.body.prompt as unknown[])[0] === 'string').length;
    expect(textPrompts(backend.completions.slice(before))).toHaveLength(n);
    expect(batches).toBeLessThanOrEqual(n / 4);
    expect(seen.batches).toBe(batches);
    // The queue was seen to grow while the backend was busy, and to empty again.
    expect(Math.max(...seen.depths)).toBeGreaterThan(1);
    expect(seen.depths.at(-1)).toBe(0);
  });
});

describe('shared in-flight work', () => {
  it('scores a text that many requests ask for at once only once, and answers all of them', async () => {
    const { backend, url } = await setup(300);
    const before = backend.completions.length;
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        postJson(url, { texts: ['the same text', 'the same text'] }),
      ),
    );
    const nll = answers[0]?.json.results[0].models.busy.nll;
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.json.results[0].models.busy.nll).toBe(nll);
      expect(a.json.results[1].models.busy.nll).toBe(nll);
    }
    const sent = textPrompts(backend.completions.slice(before));
    // 40 asks; arrivals spread over the first batch's flight may add a second send, never one per ask.
    expect(sent.length).toBeLessThanOrEqual(2);
  });

  it('keeps shared work running for the requests still waiting when one of them gives up', async () => {
    const { backend, url } = await setup(600);
    const impatient = postJson(url, { texts: ['shared text'], timeout_ms: 100 });
    const patient = postJson(url, { texts: ['shared text'] });
    const [a, b] = await Promise.all([impatient, patient]);
    expect(a.status).toBe(504);
    expect(b.status).toBe(200);
    expect(b.json.results[0].models.busy.tokens).toBe('shared text'.length);
    expect(backend.cancelled).toBe(0);
  });

  it('cancels the backend call when every request waiting on it is gone', async () => {
    const { backend, url } = await setup(2_000);
    const [a, b] = await Promise.all([
      postJson(url, { texts: ['abandoned'], timeout_ms: 150 }),
      postJson(url, { texts: ['abandoned'], timeout_ms: 200 }),
    ]);
    expect([a.status, b.status]).toEqual([504, 504]);
    await until(() => backend.cancelled >= 1, 5_000);
  });
});

describe('result cache', () => {
  it('answers repeated texts from the cache, counts the hits in usage, and reports lookups', async () => {
    const { seen, observer } = recordingObserver();
    const { backend, url } = await setup(0, { cacheBytes: 1 << 20 }, observer);
    const texts = ['alpha', 'beta', 'gamma'];
    const first = await postJson(url, { texts });
    expect(first.json.usage.cache_hits).toBe(0);
    const sentBefore = textPrompts(backend.completions).length;
    const again = await postJson(url, { texts: [...texts, 'delta'] });
    expect(again.status).toBe(200);
    expect(again.json.usage.cache_hits).toBe(3);
    expect(again.json.results[1].models.busy).toEqual(first.json.results[1].models.busy);
    expect(textPrompts(backend.completions).length - sentBefore).toBe(1);
    expect(seen.hits).toBe(3);
    expect(seen.misses).toBe(4);
    // Windows need every model's tokens, so every entry holds them: a details request is a hit too.
    const detailed = await postJson(url, { texts: ['alpha'], details: 'tokens' });
    expect(detailed.json.usage.cache_hits).toBe(1);
    expect(detailed.json.results[0].models.busy.token_details).toHaveLength(5);
  });

  it('does not store the scores of a request with "cache": false, but still answers it from the cache', async () => {
    const { url } = await setup(0, { cacheBytes: 1 << 20 });
    await postJson(url, { texts: ['kept'] });
    const optedOut = await postJson(url, { texts: ['kept', 'passing'], cache: false });
    expect(optedOut.json.usage.cache_hits).toBe(1);
    const again = await postJson(url, { texts: ['kept', 'passing'] });
    expect(again.json.usage.cache_hits).toBe(1);
    expect(again.json.results[1].models.busy).toEqual(optedOut.json.results[1].models.busy);
  });

  it('does not store the scores of bulk requests (more texts than maxStoredTextsPerRequest)', async () => {
    const { url } = await setup(0, { cacheBytes: 1 << 20, maxStored: 2 });
    await postJson(url, { texts: ['one', 'two', 'three'] });
    expect((await postJson(url, { texts: ['one', 'two'] })).json.usage.cache_hits).toBe(0);
    expect((await postJson(url, { texts: ['one', 'two'] })).json.usage.cache_hits).toBe(2);
  });

  it('rejects a cache option that is not a boolean, naming the field', async () => {
    const { url } = await setup(0, { cacheBytes: 1 << 20 });
    const bad = await postJson(url, { texts: ['x'], cache: 'no' });
    expect(bad.status).toBe(400);
    expect(bad.json.error.param).toBe('cache');
  });

  it('does not cache failures', async () => {
    const { url } = await setup(0, { cacheBytes: 1 << 20 });
    const empty = await postJson(url, { texts: ['', 'ok'] });
    expect(empty.json.results[0].error.type).toBe('empty_text');
    const again = await postJson(url, { texts: [''] });
    expect(again.json.usage.cache_hits).toBe(0);
  });
});

describe('admission', () => {
  it('refuses a request its model queue cannot take with 503 and Retry-After, queueing none of it', async () => {
    const { backend, url } = await setup(400, { maxQueued: 10, maxBatchPrompts: 1 });
    const before = backend.completions.length;
    const filling = postJson(url, { texts: Array.from({ length: 10 }, (_, i) => `fill ${i}`) });
    await until(() => backend.completions.length > before, 5_000);
    const refused = await postJson(url, { texts: ['late 1', 'late 2', 'late 3'] });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(refused.json.error.type).toBe('overloaded');
    expect((await filling).status).toBe(200);
    expect(textPrompts(backend.completions.slice(before)).some((p) => p.startsWith('late'))).toBe(
      false,
    );
  });

  it.each([
    ['too many texts', { texts: ['a', 'b', 'c', 'd', 'e', 'f'] }, 400, 'texts'],
    ['a text over the character limit', { texts: ['x'.repeat(101)] }, 400, 'texts[0]'],
    ['texts over the total byte limit', { texts: ['é'.repeat(60), 'é'.repeat(60)] }, 413, 'texts'],
  ])('refuses %s before any backend call', async (_what, body, status, param) => {
    const backend = started.add(await startFakeVllm({ servedName: 'limited' }));
    const controller = started.add(
      await startTestController({
        models: [{ name: 'limited', backends: [backend.url] }],
        limits: { maxTextsPerRequest: 5, maxCharsPerText: 100, maxTotalTextBytes: 200 },
        health: { probeIntervalMs: 600_000 },
      }),
    );
    const before = textPrompts(backend.completions).length;
    const tokenizeBefore = backend.tokenizeCalls;
    const res = await postJson(`${controller.url}/v1/perplexity`, body);
    expect(res.status).toBe(status);
    expect(res.json.error.param).toBe(param);
    expect(textPrompts(backend.completions).length).toBe(before);
    expect(backend.tokenizeCalls).toBe(tokenizeBefore);
  });
});
