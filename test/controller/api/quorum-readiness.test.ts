/**
 * A GPU host serves with a quorum of its models: `/readyz` needs `minModels` ready models, a model the host could
 * not download is listed in `/v1/models` with the reason, and answers without it are flagged degraded.
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startLocalLm } from '../../../images/local-lm/index.ts';
import { closeAfterEach } from '../../helpers/close-after-each.ts';
import { postJson, startTestController } from '../../helpers/controller.ts';
import { tinyBos } from '../backends/tiny-models.ts';
import { until } from '../scheduler/until.ts';

const started = closeAfterEach();

/** A loopback port nothing listens on (its vLLM server was never started). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

describe('quorum readiness on a host with an unavailable model', () => {
  it('is ready with minModels of three models, lists the missing one with its reason, and flags answers degraded', async () => {
    const servers = [
      started.add(await startLocalLm({ model: tinyBos('a') })),
      started.add(await startLocalLm({ model: tinyBos('b') })),
    ];
    const reason = 'download refused (403): accept the license at https://huggingface.co/org/c';
    const controller = started.add(
      await startTestController({
        minModels: 2,
        models: [
          { name: 'a', backends: [servers[0]!.url] },
          { name: 'b', backends: [servers[1]!.url] },
          { name: 'c', backends: [`http://127.0.0.1:${await closedPort()}`], unavailable: reason },
        ],
        health: { probeIntervalMs: 100, probeTimeoutMs: 500 },
      }),
    );
    await until(async () => (await fetch(`${controller.url}/readyz`)).status === 200);
    const ready = (await (await fetch(`${controller.url}/readyz`)).json()) as Record<
      string,
      unknown
    >;
    expect(ready).toMatchObject({
      ready: true,
      min_models: 2,
      models: { a: true, b: true, c: false },
    });

    const models = (await (await fetch(`${controller.url}/v1/models`)).json()) as {
      data: { id: string; ready: boolean; unavailable: string | null }[];
    };
    expect(models.data.map((m) => [m.id, m.ready, m.unavailable])).toEqual([
      ['a', true, null],
      ['b', true, null],
      ['c', false, reason],
    ]);

    const res = await postJson(`${controller.url}/v1/perplexity`, {
      texts: ['The ship sailed at dawn.'],
    });
    expect(res.status).toBe(200);
    expect(JSON.stringify(res.json)).toMatch(/"degraded":true/);
  });
});
