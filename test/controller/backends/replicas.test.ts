import { afterEach, describe, expect, it } from 'vitest';
import type { RunningController } from '../../../controller/main.ts';
import { startLocalLm } from '../../../images/local-lm/index.ts';
import type { LocalLmServer } from '../../../images/local-lm/index.ts';
import { postJson, startTestController } from '../../helpers/controller.ts';
import { backendStates, until } from '../scheduler/until.ts';
import { SENTENCES, tinyBos } from './tiny-models.ts';

let servers: LocalLmServer[] = [];
let controller: RunningController | undefined;
afterEach(async () => {
  await controller?.close();
  await Promise.all(servers.map((s) => s.close()));
  controller = undefined;
  servers = [];
});

async function twoReplicas(health: Record<string, number> = {}) {
  const model = tinyBos();
  servers = [
    await startLocalLm({ model, controls: true }),
    await startLocalLm({ model, controls: true }),
  ];
  controller = await startTestController({
    models: [{ name: 'tiny', backends: servers.map((s) => s.url) }],
    scheduler: { maxInflightPerBackend: 1, maxBatchPrompts: 4 },
    cache: { maxBytes: 0 },
    health: { probeIntervalMs: 200, probeTimeoutMs: 500, failuresToEject: 2, ...health },
  });
  await until(async () =>
    Object.values(await backendStates(controller!.url)).every((s) => s === 'healthy'),
  );
  return `${controller.url}/v1/perplexity`;
}

const completions = (s: LocalLmServer) => s.stats().byPath['/v1/completions'] ?? 0;
const texts = (n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => `${SENTENCES[i % SENTENCES.length]} (${tag} ${i})`);

describe('replicas of one model', () => {
  it('share the load', async () => {
    const url = await twoReplicas({ probeIntervalMs: 600_000 });
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
    const url = await twoReplicas();
    const [dead, alive] = servers as [LocalLmServer, LocalLmServer];
    await dead.faults.set('refuse');
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => postJson(url, { texts: texts(4, `after death ${i}`) })),
    );
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.json.degraded).toBe(false);
    }
    await until(async () => (await backendStates(controller!.url))['tiny#0'] === 'unhealthy');
    const aliveBefore = completions(alive);
    const later = await postJson(url, { texts: texts(4, 'later') });
    expect(later.status).toBe(200);
    expect(completions(alive)).toBeGreaterThan(aliveBefore);
    // Back up: probes readmit it and it takes traffic again.
    await dead.faults.clear();
    await until(async () => (await backendStates(controller!.url))['tiny#0'] === 'healthy');
  });

  it('retries a 503 from one replica once on the other', async () => {
    const url = await twoReplicas({ probeIntervalMs: 600_000 });
    const [flaky, steady] = servers as [LocalLmServer, LocalLmServer];
    await flaky.faults.set({ kind: 'status503', onlyFor: ['/v1/completions'] });
    const steadyBefore = completions(steady);
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => postJson(url, { texts: texts(3, `flaky ${i}`) })),
    );
    for (const a of answers) expect(a.status).toBe(200);
    expect(completions(steady)).toBeGreaterThan(steadyBefore);
  });
});
