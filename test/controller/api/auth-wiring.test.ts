import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateKey } from '../../../controller/auth/key-format.ts';
import type { RunningController } from '../../../controller/main.ts';
import { ControllerMetrics } from '../../../controller/observability/metrics.ts';
import { startFakeVllm } from '../../helpers/fake-vllm.ts';
import type { FakeVllm } from '../../helpers/fake-vllm.ts';
import { postJson, startTestController } from '../../helpers/controller.ts';
import { tempDir } from '../../helpers/temp-dir.ts';

describe('authentication wired from the configuration', () => {
  const running: Array<RunningController | FakeVllm> = [];
  afterEach(async () => {
    for (const r of running.splice(0)) await r.close();
  });

  it('is not ready, and refuses scoring with 503, while no key set could be loaded', async () => {
    const backend = await startFakeVllm();
    running.push(backend);
    const missing = join(tempDir('ep-keys-'), 'no-such-dir', 'keys.json');
    const controller = await startTestController({
      models: [{ name: 'm', backends: [backend.url] }],
      auth: { store: `file:${missing}` },
    });
    running.push(controller);
    const ready = await fetch(`${controller.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as any).keys_loaded).toBe(false);
    const key = generateKey().key;
    const res = await postJson(
      `${controller.url}/v1/perplexity`,
      { texts: ['a'] },
      { authorization: `Bearer ${key}` },
    );
    expect(res.status).toBe(503);
  });

  it('scores with a key from the file store, and guards /metrics when metricsRequireKey is set', async () => {
    const backend = await startFakeVllm();
    running.push(backend);
    const dir = tempDir('ep-keys-');
    const { key, id, hash } = generateKey();
    const store = join(dir, 'keys.json');
    writeFileSync(
      store,
      JSON.stringify({
        version: 1,
        keys: [{ id, name: 't', hash, createdAt: new Date().toISOString() }],
      }),
    );
    const controller = await startTestController(
      {
        models: [{ name: 'm', backends: [backend.url] }],
        auth: { store: `file:${store}`, metricsRequireKey: true },
      },
      { metrics: new ControllerMetrics() },
    );
    running.push(controller);
    const ready = (await fetch(`${controller.url}/readyz`).then((r) => r.json())) as any;
    expect(ready).toMatchObject({ ready: true, keys_loaded: true });
    const auth = { authorization: `Bearer ${key}` };
    expect((await postJson(`${controller.url}/v1/perplexity`, { texts: ['a'] })).status).toBe(401);
    expect((await postJson(`${controller.url}/v1/perplexity`, { texts: ['a'] }, auth)).status).toBe(
      200,
    );
    expect((await fetch(`${controller.url}/metrics`)).status).toBe(401);
    const metrics = await fetch(`${controller.url}/metrics`, { headers: auth });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/http_request_duration_seconds/);
  });
});
