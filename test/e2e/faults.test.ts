/**
 * Fault tests over real HTTP: the controller in front of three local-lm backends whose faults are switched on
 * and off (die mid-response, hang, malformed JSON, 503, client disconnect). Every case is bounded by a deadline
 * plus generous slack, never by a tight latency.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningController } from '../../controller/main.ts';
import { startLocalLm } from '../../images/local-lm/index.ts';
import type { FaultSpec, LocalLmServer } from '../../images/local-lm/index.ts';
import { SENTENCES, tinyBos, tinyNoBos } from '../controller/backends/tiny-models.ts';
import { backendStates, until } from '../controller/scheduler/until.ts';
import { postJson, startTestController } from '../helpers/controller.ts';

const DEADLINE_MS = 1_500;
/** Room for a busy 2-core machine on top of the deadline. */
const SLACK_MS = 2_500;

const sockets = () =>
  process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPWrap').length;

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);

let servers: LocalLmServer[];
let controller: RunningController;
let socketsBefore: number;
const NAMES = ['bos-a', 'gpt-a', 'bos-b'];

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  servers = [
    await startLocalLm({ model: tinyBos('bos-a'), controls: true }),
    await startLocalLm({ model: tinyNoBos('gpt-a'), controls: true }),
    await startLocalLm({
      model: tinyBos('bos-b', 'The sea was calm.\n\nThe ship sailed at dawn.'),
      controls: true,
    }),
  ];
  socketsBefore = sockets();
  controller = await startTestController({
    models: servers.map((s, i) => ({ name: NAMES[i] as string, backends: [s.url] })),
    timeouts: { requestMs: DEADLINE_MS },
    cache: { maxBytes: 0 },
    health: {
      probeIntervalMs: 100,
      probeTimeoutMs: 300,
      failuresToEject: 2,
      successesToReadmit: 2,
    },
  });
});

afterEach(async () => {
  await Promise.all(servers.map((s) => s.faults.clear()));
  await until(async () =>
    Object.values(await backendStates(controller.url)).every((s) => s === 'healthy'),
  );
});

afterAll(async () => {
  await controller?.close();
  // Every controller-side socket is gone once it has closed (the servers' listening sockets remain).
  await until(() => sockets() <= socketsBefore, 5_000);
  await Promise.all(servers.map((s) => s.close()));
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});

/** Scores the sentences with a quorum, timing the call. */
async function score(minModels: number, extra: Record<string, unknown> = {}) {
  const started = performance.now();
  const res = await postJson(`${controller.url}/v1/perplexity`, {
    texts: SENTENCES,
    min_models: minModels,
    ...extra,
  });
  return { ...res, ms: performance.now() - started };
}

/** The faulty model is missing from every text's ensemble, with a per-text reason; the others answered. */
function expectDegraded(json: any, faulty: string) {
  expect(json.degraded).toBe(true);
  expect(json.models_used).not.toContain(faulty);
  for (const r of json.results) {
    expect(r.ensemble.degraded).toBe(true);
    expect(r.ensemble.missing_models).toEqual([faulty]);
    expect(r.models[faulty].error.type).toMatch(/backend_unavailable|deadline_exceeded/);
    expect(r.ensemble.models_used).toHaveLength(2);
  }
}

describe.each<[string, FaultSpec]>([
  ['dies in the middle of its answer', { kind: 'dieMidResponse', onlyFor: ['/v1/completions'] }],
  ['answers malformed JSON', { kind: 'malformedJson', onlyFor: ['/v1/completions'] }],
  ['answers 503', { kind: 'status503', onlyFor: ['/v1/completions'] }],
])('a backend that %s', (_name, fault) => {
  it('leaves a degraded answer when the quorum is met, and 503 when it is not', async () => {
    await servers[0]!.faults.set(fault);
    const met = await score(2);
    expect(met.status).toBe(200);
    expectDegraded(met.json, 'bos-a');
    expect(met.ms).toBeLessThan(DEADLINE_MS + SLACK_MS);
    const missed = await score(3);
    expect(missed.status).toBe(503);
    expect(missed.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(missed.json.error.type).toBe('backend_unavailable');
    expect(missed.text).not.toMatch(/127\.0\.0\.1|localhost/);
    expect(missed.ms).toBeLessThan(DEADLINE_MS + SLACK_MS);
  });
});

describe('a backend that accepts connections and never answers', () => {
  it('costs the caller at most the deadline, is ejected, and is readmitted once it answers again', async () => {
    await servers[1]!.faults.set('hang');
    const met = await score(2);
    expect(met.status).toBe(200);
    expectDegraded(met.json, 'gpt-a');
    expect(met.ms).toBeLessThan(DEADLINE_MS + SLACK_MS);
    const missed = await score(3, { timeout_ms: 800 });
    // 504 while the hung backend still looks healthy; 503 once the probes have ejected it.
    expect([503, 504]).toContain(missed.status);
    expect(missed.ms).toBeLessThan(800 + SLACK_MS);
    await until(async () => (await backendStates(controller.url))['gpt-a#0'] === 'unhealthy');
    expect((await fetch(`${controller.url}/readyz`)).status).toBe(503);
    await servers[1]!.faults.clear();
    await until(async () => (await backendStates(controller.url))['gpt-a#0'] === 'healthy');
    const back = await score(3);
    expect(back.status).toBe(200);
    expect(back.json.degraded).toBe(false);
  });
});

describe('a client that goes away', () => {
  it('cancels the backend request it was waiting for', async () => {
    const server = servers[2]!;
    // A controller of its own whose probes stay quiet, so that any cancellation the backend counts is ours.
    const quiet = await startTestController({
      models: [{ name: 'bos-b', backends: [server.url] }],
      health: { probeIntervalMs: 600_000 },
    });
    try {
      await until(async () => (await backendStates(quiet.url))['bos-b#0'] === 'healthy');
      // The first probe is still on its way right after startup: let it land before requests hang.
      const goldens = () => server.stats().byPath['/v1/completions'] ?? 0;
      await until(() => server.stats().running === 0 && goldens() >= 2, 5_000);
      await server.faults.set({ kind: 'hang', onlyFor: ['/v1/completions'] });
      const cancelledBefore = server.stats().cancelled;
      const receivedBefore = goldens();
      const abort = new AbortController();
      const started = performance.now();
      const pending = fetch(`${quiet.url}/v1/perplexity`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ texts: ['A text nobody will wait for.'], timeout_ms: 60_000 }),
        signal: abort.signal,
      }).catch((err: unknown) => err);
      await until(() => goldens() > receivedBefore, 5_000);
      abort.abort();
      await pending;
      await until(() => server.stats().cancelled > cancelledBefore, 5_000);
      expect(performance.now() - started).toBeLessThan(10_000);
    } finally {
      await quiet.close();
    }
  });
});
