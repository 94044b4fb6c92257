import { afterEach, describe, expect, it } from 'vitest';
import type { RunningController } from '../../../controller/main.ts';
import { startLocalLm } from '../../../images/local-lm/index.ts';
import type { LocalLmServer } from '../../../images/local-lm/index.ts';
import { postJson, startTestController } from '../../helpers/controller.ts';
import { fakeLogprob, startFakeVllm } from '../../helpers/fake-vllm.ts';
import { backendStates, until } from '../scheduler/until.ts';
import { SENTENCES, tinyBos, tinyBosOtherWeights, tinyNoBos } from './tiny-models.ts';

let servers: LocalLmServer[] = [];
let controller: RunningController | undefined;
afterEach(async () => {
  await controller?.close();
  await Promise.all(servers.map((s) => s.close()));
  controller = undefined;
  servers = [];
});

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('active health checks', () => {
  it('never admits a replica that serves other weights under the same name (golden probe)', async () => {
    servers = [
      await startLocalLm({ model: tinyBos('tiny') }),
      await startLocalLm({ model: tinyBosOtherWeights('tiny') }),
    ];
    controller = await startTestController({
      models: [{ name: 'tiny', backends: servers.map((s) => s.url) }],
      health: { probeIntervalMs: 100, probeTimeoutMs: 1_000 },
    });
    await until(async () => (await backendStates(controller!.url))['tiny#1'] === 'unhealthy');
    expect((await backendStates(controller.url))['tiny#0']).toBe('healthy');
    const before = servers[1]!.stats().byPath['/v1/completions'] ?? 0;
    const res = await postJson(`${controller.url}/v1/perplexity`, { texts: SENTENCES });
    expect(res.status).toBe(200);
    // Only probes reach the wrong replica; scoring traffic does not.
    const probesOnly = (servers[1]!.stats().byPath['/v1/completions'] ?? 0) - before;
    expect(probesOnly).toBeLessThanOrEqual(3);
  });

  it('ejects a backend whose /health fails and readmits it after consecutive good probes', async () => {
    servers = [await startLocalLm({ model: tinyBos('tiny'), controls: true })];
    controller = await startTestController({
      models: [{ name: 'tiny', backends: [servers[0]!.url] }],
      health: {
        probeIntervalMs: 100,
        probeTimeoutMs: 500,
        failuresToEject: 2,
        successesToReadmit: 3,
      },
    });
    await until(async () => (await backendStates(controller!.url))['tiny#0'] === 'healthy');
    await servers[0]!.faults.set({ kind: 'status503', onlyFor: ['/health'] });
    await until(async () => (await backendStates(controller!.url))['tiny#0'] === 'unhealthy');
    const ready = await fetch(`${controller.url}/readyz`);
    expect(ready.status).toBe(503);
    const refused = await postJson(`${controller.url}/v1/perplexity`, { texts: ['x'] });
    expect(refused.status).toBe(503);
    await servers[0]!.faults.clear();
    await until(async () => (await backendStates(controller!.url))['tiny#0'] === 'healthy');
    expect((await fetch(`${controller.url}/readyz`)).status).toBe(200);
  });

  it('sends short texts of a model without BOS as text with <|endoftext|> in front', async () => {
    servers = [await startLocalLm({ model: tinyNoBos('gpt') })];
    controller = await startTestController({
      models: [{ name: 'gpt', backends: [servers[0]!.url] }],
    });
    const tokenizeBefore = servers[0]!.stats().byPath['/tokenize'] ?? 0;
    const res = await postJson(`${controller.url}/v1/perplexity`, { texts: SENTENCES });
    expect(res.status).toBe(200);
    for (const r of res.json.results) expect(r.models.gpt.tokens).toBeGreaterThan(3);
    expect(servers[0]!.stats().byPath['/tokenize'] ?? 0).toBe(tokenizeBefore);
  });

  it('stops probing on close: no timer is left behind', async () => {
    const before = timers();
    servers = [await startLocalLm({ model: tinyBos('tiny') })];
    controller = await startTestController({
      models: [{ name: 'tiny', backends: [servers[0]!.url] }],
      health: { probeIntervalMs: 50 },
    });
    await until(async () => (await backendStates(controller!.url))['tiny#0'] === 'healthy');
    await controller.close();
    controller = undefined;
    const probes = servers[0]!.stats().byPath['/health'] ?? 0;
    await new Promise((r) => setTimeout(r, 300));
    expect(servers[0]!.stats().byPath['/health'] ?? 0).toBe(probes);
    await until(() => timers() <= before, 5_000);
  });
});

describe('a serving backend that starts answering with other weights', () => {
  it('is ejected by the golden probe, and the cached results of its model are dropped', async () => {
    let drift = 0;
    const shifting = await startFakeVllm({
      servedName: 'm',
      overrideLogprob: (ids, j) =>
        drift ? fakeLogprob(ids[j - 1] as number, ids[j] as number) - drift : undefined,
    });
    const steady = await startFakeVllm({ servedName: 'm' });
    try {
      controller = await startTestController({
        models: [{ name: 'm', backends: [shifting.url, steady.url] }],
        health: { probeIntervalMs: 100, probeTimeoutMs: 1_000 },
      });
      await until(async () =>
        Object.values(await backendStates(controller!.url)).every((s) => s === 'healthy'),
      );
      const url = `${controller.url}/v1/perplexity`;
      await postJson(url, { texts: ['remember me'] });
      expect((await postJson(url, { texts: ['remember me'] })).json.usage.cache_hits).toBe(1);
      drift = 0.5;
      await until(async () => (await backendStates(controller!.url))['m#0'] === 'unhealthy');
      const after = await postJson(url, { texts: ['remember me'] });
      expect(after.status).toBe(200);
      expect(after.json.usage.cache_hits).toBe(0);
    } finally {
      await controller?.close();
      controller = undefined;
      await shifting.close();
      await steady.close();
    }
  });
});
