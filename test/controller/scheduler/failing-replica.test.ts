import { describe, expect, it } from 'vitest';
import { startLocalLm } from '../../../images/local-lm/index.ts';
import { closeAfterEach } from '../../helpers/close-after-each.ts';
import { postJson, startTestController } from '../../helpers/controller.ts';
import { SENTENCES, tinyBos, tinyNoBos } from '../backends/tiny-models.ts';
import { backendStates, until } from './until.ts';

const started = closeAfterEach();

/** Two models with one replica each (the default deployment): `a` is the one that will fail. */
async function twoModels(config: { scheduler?: object; health?: object } = {}) {
  const failing = started.add(await startLocalLm({ model: tinyBos('a'), controls: true }));
  const steady = started.add(await startLocalLm({ model: tinyNoBos('b'), controls: true }));
  const controller = started.add(
    await startTestController({
      models: [
        { name: 'a', backends: [failing.url] },
        { name: 'b', backends: [steady.url] },
      ],
      cache: { maxBytes: 0 },
      scheduler: { ...config.scheduler },
      health: { probeIntervalMs: 600_000, ...config.health },
    }),
  );
  const url = `${controller.url}/v1/perplexity`;
  // Warm up: the batcher measures each backend's rate from real answers.
  expect((await postJson(url, { texts: SENTENCES })).status).toBe(200);
  return { url, controllerUrl: controller.url, failing, steady };
}

const texts = (tag: string) => SENTENCES.map((s, i) => `${s} (${tag} ${i})`);

async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work;
  return { value, ms: performance.now() - started };
}

describe('a frozen replica', () => {
  it('costs a request a few seconds (attempt timeout), not its deadline, when the quorum allows', async () => {
    const { url, failing } = await twoModels({ scheduler: { attemptTimeoutFloorMs: 1_000 } });
    await failing.faults.set({ kind: 'hang', onlyFor: ['/v1/completions'] });
    const { value: res, ms } = await timed(
      postJson(url, { texts: texts('frozen'), min_models: 1, timeout_ms: 30_000 }),
    );
    expect(res.status).toBe(200);
    expect(res.json.degraded).toBe(true);
    for (const r of res.json.results) expect(r.ensemble.models_used).toEqual(['b']);
    // Two attempts of about a second each, and the pause between them; far from the 30 s deadline.
    expect(ms).toBeLessThan(8_000);
  });

  it('answers 503 at once, not at the deadline, when the quorum needs the frozen model', async () => {
    const { url, failing } = await twoModels({ scheduler: { attemptTimeoutFloorMs: 1_000 } });
    await failing.faults.set({ kind: 'hang', onlyFor: ['/v1/completions'] });
    const { value: res, ms } = await timed(
      postJson(url, { texts: texts('quorum'), min_models: 2, timeout_ms: 30_000 }),
    );
    expect(res.status).toBe(503);
    expect(ms).toBeLessThan(8_000);
  });

  it('gives back the batches in flight on a replica the moment it is ejected', async () => {
    // Attempt timeouts far away: only the ejection (probes fail fast) can free the request early.
    const { url, controllerUrl, failing } = await twoModels({
      scheduler: { attemptTimeoutFloorMs: 60_000 },
      health: { probeIntervalMs: 200, probeTimeoutMs: 300, failuresToEject: 2 },
    });
    await failing.faults.set('hang');
    const { value: res, ms } = await timed(
      postJson(url, { texts: texts('ejected'), min_models: 1, timeout_ms: 30_000 }),
    );
    expect(res.status).toBe(200);
    expect(res.json.degraded).toBe(true);
    expect(ms).toBeLessThan(6_000);
    expect((await backendStates(controllerUrl))['a#0']).toBe('unhealthy');
  });
});

describe('one transient error on the only replica of a model', () => {
  it('is retried on the same replica after a short pause, and the request succeeds in full', async () => {
    const { url, failing } = await twoModels();
    await failing.faults.set({ kind: 'dieMidResponse', count: 1, onlyFor: ['/v1/completions'] });
    const res = await postJson(url, { texts: texts('reset'), min_models: 2 });
    expect(res.status).toBe(200);
    expect(res.json.degraded).toBe(false);
    await until(() => failing.faults.current === null, 1_000);
  });
});
