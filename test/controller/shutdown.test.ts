import { describe, expect, it } from 'vitest';
import { startFakeVllm } from '../helpers/fake-vllm.ts';
import { postJson, startTestController } from '../helpers/controller.ts';

describe('graceful shutdown', () => {
  it('finishes in-flight requests, then stops accepting', async () => {
    const backend = await startFakeVllm({ delayMs: 400 });
    const controller = await startTestController({
      models: [{ name: 'm', backends: [backend.url] }],
    });
    try {
      const inFlight = postJson(`${controller.url}/v1/perplexity`, { texts: ['finish me'] });
      await new Promise((r) => setTimeout(r, 100));
      const closed = controller.close();
      const res = await inFlight;
      expect(res.status).toBe(200);
      expect(res.json.results[0].ensemble.perplexity).toBeGreaterThan(1);
      await closed;
      await expect(fetch(`${controller.url}/healthz`)).rejects.toThrow();
    } finally {
      await controller.close();
      await backend.close();
    }
  });
});
