import { describe, expect, it } from 'vitest';
import { startLocalLm } from '../../../images/local-lm/index.ts';
import { closeAfterEach } from '../../helpers/close-after-each.ts';
import { postJson, startTestController } from '../../helpers/controller.ts';
import { fakeLogprob, startFakeVllm } from '../../helpers/fake-vllm.ts';
import { backendStates, until } from '../scheduler/until.ts';
import { SENTENCES, tinyBos, tinyBosOtherWeights, tinyNoBos } from './tiny-models.ts';

const started = closeAfterEach();

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('active health checks', () => {
  it('never admits a replica that serves other weights under the same name (golden probe)', async () => {
    const servers = [
      started.add(await startLocalLm({ model: tinyBos('tiny') })),
      started.add(await startLocalLm({ model: tinyBosOtherWeights('tiny') })),
    ];
    const controller = started.add(
      await startTestController({
        models: [{ name: 'tiny', backends: servers.map((s) => s.url) }],
        health: { probeIntervalMs: 100, probeTimeoutMs: 1_000 },
      }),
    );
    await until(async () => (await backendStates(controller.url))['tiny#1'] === 'unhealthy');
    expect((await backendStates(controller.url))['tiny#0']).toBe('healthy');
    const before = servers[1]!.stats().byPath['/v1/completions'] ?? 0;
    const res = await postJson(`${controller.url}/v1/perplexity`, { texts: SENTENCES });
    expect(res.status).toBe(200);
    // Only probes reach the wrong replica; scoring traffic does not.
    const probesOnly = (servers[1]!.stats().byPath['/v1/completions'] ?? 0) - before;
    expect(probesOnly).toBeLessThanOrEqual(3);
  });

  it('ejects a backend whose /health fails and readmits it after consecutive good probes', async () => {
    const server = started.add(await startLocalLm({ model: tinyBos('tiny'), controls: true }));
    const controller = started.add(
      await startTestController({
        models: [{ name: 'tiny', backends: [server.url] }],
        health: {
          probeIntervalMs: 100,
          probeTimeoutMs: 500,
          failuresToEject: 2,
          successesToReadmit: 3,
        },
      }),
    );
    await until(async () => (await backendStates(controller.url))['tiny#0'] === 'healthy');
    await server.faults.set({ kind: 'status503', onlyFor: ['/health'] });
    await until(async () => (await backendStates(controller.url))['tiny#0'] === 'unhealthy');
    const ready = await fetch(`${controller.url}/readyz`);
    expect(ready.status).toBe(503);
    const refused = await postJson(`${controller.url}/v1/perplexity`, { texts: ['x'] });
    expect(refused.status).toBe(503);
    await server.faults.clear();
    await until(async () => (await backendStates(controller.url))['tiny#0'] === 'healthy');
    expect((await fetch(`${controller.url}/readyz`)).status).toBe(200);
  });

  it('sends short texts of a model without BOS as text with <|endoftext|> in front', async () => {
    const server = started.add(await startLocalLm({ model: tinyNoBos('gpt') }));
    const controller = started.add(
      await startTestController({ models: [{ name: 'gpt', backends: [server.url] }] }),
    );
    const tokenizeBefore = server.stats().byPath['/tokenize'] ?? 0;
    const res = await postJson(`${controller.url}/v1/perplexity`, { texts: SENTENCES });
    expect(res.status).toBe(200);
    for (const r of res.json.results) expect(r.models.gpt.tokens).toBeGreaterThan(3);
    expect(server.stats().byPath['/tokenize'] ?? 0).toBe(tokenizeBefore);
  });

  it('stops probing on close: no timer is left behind', async () => {
    const before = timers();
    const server = started.add(await startLocalLm({ model: tinyBos('tiny') }));
    const controller = started.add(
      await startTestController({
        models: [{ name: 'tiny', backends: [server.url] }],
        health: { probeIntervalMs: 50 },
      }),
    );
    await until(async () => (await backendStates(controller.url))['tiny#0'] === 'healthy');
    await controller.close();
    const probes = server.stats().byPath['/health'] ?? 0;
    await new Promise((r) => setTimeout(r, 300));
    expect(server.stats().byPath['/health'] ?? 0).toBe(probes);
    await until(() => timers() <= before, 5_000);
  });
});

describe('a serving backend that starts answering with other weights', () => {
  it('is ejected by the golden probe, and the cached results of its model are dropped', async () => {
    let drift = 0;
    const shifting = started.add(
      await startFakeVllm({
        servedName: 'm',
        overrideLogprob: (ids, j) =>
          drift ? fakeLogprob(ids[j - 1] as number, ids[j] as number) - drift : undefined,
      }),
    );
    const steady = started.add(await startFakeVllm({ servedName: 'm' }));
    const controller = started.add(
      await startTestController({
        models: [{ name: 'm', backends: [shifting.url, steady.url] }],
        health: { probeIntervalMs: 100, probeTimeoutMs: 1_000 },
      }),
    );
    await until(async () =>
      Object.values(await backendStates(controller.url)).every((s) => s === 'healthy'),
    );
    const url = `${controller.url}/v1/perplexity`;
    await postJson(url, { texts: ['remember me'] });
    expect((await postJson(url, { texts: ['remember me'] })).json.usage.cache_hits).toBe(1);
    drift = 0.5;
    await until(async () => (await backendStates(controller.url))['m#0'] === 'unhealthy');
    const after = await postJson(url, { texts: ['remember me'] });
    expect(after.status).toBe(200);
    expect(after.json.usage.cache_hits).toBe(0);
  });
});
