import { describe, expect, it } from 'vitest';
import { startLocalLm } from '../../../images/local-lm/index.ts';
import type { LocalLmServer } from '../../../images/local-lm/index.ts';
import { closeAfterEach } from '../../helpers/close-after-each.ts';
import { postJson, startTestController } from '../../helpers/controller.ts';
import { SENTENCES, tinyBos } from '../backends/tiny-models.ts';
import { backendStates } from './until.ts';

const MARKER = 'zq-poison-7';

const started = closeAfterEach();

/** One model on one replica whose engine fails (500) on any batch holding the marker. */
async function poisonedStack(cacheBytes = 0) {
  const server = started.add(await startLocalLm({ model: tinyBos(), controls: true }));
  const controller = started.add(
    await startTestController({
      models: [{ name: 'tiny', backends: [server.url] }],
      scheduler: { maxBatchPrompts: 64 },
      cache: { maxBytes: cacheBytes },
      health: { probeIntervalMs: 600_000, failuresToEject: 2 },
    }),
  );
  await server.faults.set({ kind: 'poisonText', marker: MARKER });
  return { url: `${controller.url}/v1/perplexity`, controllerUrl: controller.url, server };
}

const completions = (server: LocalLmServer) => server.stats().byPath['/v1/completions'] ?? 0;

describe('a text the backend fails on (poison)', () => {
  it('fails alone with backend_rejected_text; the texts batched with it are scored', async () => {
    const { url } = await poisonedStack();
    const texts = SENTENCES.map((s, i) => `${s} (victim ${i})`);
    texts.splice(2, 0, `An ordinary line with ${MARKER} in it.`);
    const res = await postJson(url, { texts, min_models: 1 });
    expect(res.status).toBe(200);
    const results = res.json.results as any[];
    for (const [i, r] of results.entries()) {
      if (i === 2) continue;
      expect(r.error).toBeUndefined();
      expect(r.ensemble.perplexity).toBeGreaterThan(1);
    }
    const poisoned = results[2];
    expect(poisoned.ensemble).toBeUndefined();
    expect(poisoned.error.type).toBe('backend_rejected_text');
    expect(poisoned.error.param).toBe('texts[2]');
    expect(poisoned.models.tiny.error.type).toBe('backend_rejected_text');
    // The backend's reason (its status) is there; the text, quoted by the engine, is not.
    expect(poisoned.error.message).toContain('500');
    expect(res.text).not.toContain(MARKER);
  });

  it('does not count against the backend: repeated poison never ejects it, and victims keep being served', async () => {
    const { url, controllerUrl } = await poisonedStack();
    for (let round = 0; round < 6; round++) {
      const [attack, victim] = await Promise.all([
        postJson(url, { texts: [`${MARKER} round ${round}`], min_models: 1 }),
        postJson(url, { texts: [`${SENTENCES[round % SENTENCES.length]} (round ${round})`] }),
      ]);
      expect(attack.status).toBe(200);
      expect(attack.json.results[0].error.type).toBe('backend_rejected_text');
      expect(victim.status).toBe(200);
      expect(victim.json.results[0].ensemble.degraded).toBe(false);
    }
    expect((await backendStates(controllerUrl))['tiny#0']).toBe('healthy');
  });

  it('remembers a rejected text for a while instead of sending it again', async () => {
    const { url, server } = await poisonedStack();
    const text = `Once more ${MARKER}.`;
    const first = await postJson(url, { texts: [text, SENTENCES[0]] });
    expect(first.json.results[0].error.type).toBe('backend_rejected_text');
    const sent = completions(server);
    const again = await postJson(url, { texts: [text] });
    expect(again.json.results[0].error.type).toBe('backend_rejected_text');
    expect(completions(server)).toBe(sent);
  });

  it('still counts a backend that fails everything against its health (and ejects it)', async () => {
    const { url, controllerUrl, server } = await poisonedStack();
    await server.faults.set({ kind: 'status503', onlyFor: ['/v1/completions'] });
    for (let i = 0; i < 3; i++) await postJson(url, { texts: [`${SENTENCES[i]} (outage ${i})`] });
    expect((await backendStates(controllerUrl))['tiny#0']).toBe('unhealthy');
  });
});
