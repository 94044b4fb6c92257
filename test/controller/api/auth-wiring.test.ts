import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateKey } from '../../../controller/auth/key-format.ts';
import type { AssembledController } from '../../../controller/api/server.ts';
import { ControllerMetrics } from '../../../controller/observability/metrics.ts';
import { startFakeVllm } from '../../helpers/fake-vllm.ts';
import type { FakeVllm } from '../../helpers/fake-vllm.ts';
import { requestJson, startTestApp } from '../../helpers/controller.ts';

describe('authentication wired from the configuration', () => {
  const running: Array<AssembledController | FakeVllm> = [];
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'ep-keys-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(async () => {
    for (const r of running.splice(0)) await r.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('is not ready, and refuses scoring with 503, while no key set could be loaded', async () => {
    const backend = await startFakeVllm();
    running.push(backend);
    const missing = join(tempDir(), 'no-such-dir', 'keys.json');
    const controller = await startTestApp({
      models: [{ name: 'm', backends: [backend.url] }],
      auth: { store: `file:${missing}` },
    });
    running.push(controller);
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
    const backend = await startFakeVllm();
    running.push(backend);
    const dir = tempDir();
    const { key, id, hash } = generateKey();
    const store = join(dir, 'keys.json');
    writeFileSync(
      store,
      JSON.stringify({
        version: 1,
        keys: [{ id, name: 't', hash, createdAt: new Date().toISOString() }],
      }),
    );
    const controller = await startTestApp(
      {
        models: [{ name: 'm', backends: [backend.url] }],
        auth: { store: `file:${store}`, metricsRequireKey: true },
      },
      { metrics: new ControllerMetrics() },
    );
    running.push(controller);
    const ready = (await (await controller.app.request('/readyz')).json()) as any;
    expect(ready).toMatchObject({ ready: true, keys_loaded: true });
    const auth = { authorization: `Bearer ${key}` };
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
