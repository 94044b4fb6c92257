import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateKey } from '../../../controller/auth/key-format.ts';
import { ControllerMetrics } from '../../../controller/observability/metrics.ts';
import { closeAfterEach } from '../../helpers/close-after-each.ts';
import { startFakeVllm } from '../../helpers/fake-vllm.ts';
import { requestJson, startTestApp } from '../../helpers/controller.ts';
import { writeKeyStoreFile } from '../../helpers/key-store-file.ts';
import { tempDir } from '../../helpers/temp-dir.ts';

describe('authentication wired from the configuration', () => {
  const started = closeAfterEach();

  it('is not ready, and refuses scoring with 503, while no key set could be loaded', async () => {
    const backend = started.add(await startFakeVllm());
    const missing = join(tempDir('ep-keys-'), 'no-such-dir', 'keys.json');
    const controller = started.add(
      await startTestApp({
        models: [{ name: 'm', backends: [backend.url] }],
        auth: { store: `file:${missing}` },
      }),
    );
    const ready = await controller.app.request('/readyz');
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as any).keys_loaded).toBe(false);
    const key = generateKey().key;
    const res = await requestJson(
      controller.app,
      '/v1/perplexity',
      { texts: ['a'] },
      { authorization: `Bearer ${key}` },
    );
    expect(res.status).toBe(503);
  });

  it('scores with a key from the file store, and guards /metrics when metricsRequireKey is set', async () => {
    const backend = started.add(await startFakeVllm());
    const { store, keys } = writeKeyStoreFile(tempDir('ep-keys-'));
    const controller = started.add(
      await startTestApp(
        {
          models: [{ name: 'm', backends: [backend.url] }],
          auth: { store, metricsRequireKey: true },
        },
        { metrics: new ControllerMetrics() },
      ),
    );
    const ready = (await (await controller.app.request('/readyz')).json()) as any;
    expect(ready).toMatchObject({ ready: true, keys_loaded: true });
    const auth = { authorization: `Bearer ${keys[0]!.key}` };
    const score = (headers?: Record<string, string>) =>
      requestJson(controller.app, '/v1/perplexity', { texts: ['a'] }, headers);
    expect((await score()).status).toBe(401);
    expect((await score(auth)).status).toBe(200);
    expect((await controller.app.request('/metrics')).status).toBe(401);
    const metrics = await controller.app.request('/metrics', { headers: auth });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/http_request_duration_seconds/);
  });
});
