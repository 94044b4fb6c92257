import { describe, expect, it } from 'vitest';
import { startLocalLm } from '../../../images/local-lm/index.ts';
import type { LocalLmServer } from '../../../images/local-lm/index.ts';
import { closeAfterEach } from '../../helpers/close-after-each.ts';
import { postJson, startTestController } from '../../helpers/controller.ts';
import { backendStates, until } from '../scheduler/until.ts';
import { SENTENCES, tinyBos } from './tiny-models.ts';

const started = closeAfterEach();

/** Two healthy replicas of one model behind a controller. */
async function twoReplicas(health: Record<string, number> = {}) {
  const model = tinyBos();
  const servers: [LocalLmServer, LocalLmServer] = [
    started.add(await startLocalLm({ model, controls: true })),
    started.add(await startLocalLm({ model, controls: true })),
  ];
  const controller = started.add(
    await startTestController({
      models: [{ name: 'tiny', backends: servers.map((s) => s.url) }],
      scheduler: { maxInflightPerBackend: 1, maxBatchPrompts: 4 },
      cache: { maxBytes: 0 },
      health: { probeIntervalMs: 200, probeTimeoutMs: 500, failuresToEject: 2, ...health },
    }),
  );
  await until(async () =>
    Object.values(await backendStates(controller.url)).every((s) => s === 'healthy'),
  );
  return { url: `${controller.url}/v1/perplexity`, controllerUrl: controller.url, servers };
}

const completions = (s: LocalLmServer) => s.stats().byPath['/v1/completions'] ?? 0;
const texts = (n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => `${SENTENCES[i % SENTENCES.length]} (${tag} ${i})`);

describe('replicas of one model', () => {
  it('share the load', async () => {
    const { url, servers } = await twoReplicas({ probeIntervalMs: 600_000 });
    const before = servers.map(completions);
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => postJson(url, { texts: texts(8, `load ${i}`) })),
    );
    for (const a of answers) expect(a.status).toBe(200);
    const used = servers.map((s, i) => completions(s) - (before[i] as number));
    expect(used[0]).toBeGreaterThan(0);
    expect(used[1]).toBeGreaterThan(0);
  });

  it('retries on the other replica when one dies, then stops sending to the dead one', async () => {
    const { url, controllerUrl, servers } = await twoReplicas();
    const [dead, alive] = servers;
    await dead.faults.set('refuse');
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => postJson(url, { texts: texts(4, `after death ${i}`) })),
    );
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.json.degraded).toBe(false);
    }
    await until(async () => (await backendStates(controllerUrl))['tiny#0'] === 'unhealthy');
    const aliveBefore = completions(alive);
    const later = await postJson(url, { texts: texts(4, 'later') });
    expect(later.status).toBe(200);
    expect(completions(alive)).toBeGreaterThan(aliveBefore);
    // Back up: probes readmit it and it takes traffic again.
    await dead.faults.clear();
    await until(async () => (await backendStates(controllerUrl))['tiny#0'] === 'healthy');
  });

  it('retries a 503 from one replica once on the other', async () => {
    const { url, servers } = await twoReplicas({ probeIntervalMs: 600_000 });
    const [flaky, steady] = servers;
    await flaky.faults.set({ kind: 'status503', onlyFor: ['/v1/completions'] });
    const steadyBefore = completions(steady);
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => postJson(url, { texts: texts(3, `flaky ${i}`) })),
    );
    for (const a of answers) expect(a.status).toBe(200);
    expect(completions(steady)).toBeGreaterThan(steadyBefore);
  });
});
