import { describe, expect, it } from 'vitest';
import type { SchedulerObserver } from '../../../controller/observability/observer.ts';
import { startLocalLm } from '../../../images/local-lm/index.ts';
import { closeAfterEach } from '../../helpers/close-after-each.ts';
import { postJson, startTestController } from '../../helpers/controller.ts';
import { SENTENCES, tinyBos } from './tiny-models.ts';

const started = closeAfterEach();

describe('health probes of a busy backend', () => {
  it('do not eject a backend whose probes queue behind real work longer than the probe timeout', async () => {
    // An engine that runs requests FIFO at 0.5 ms per prompt token: a probe waits behind every batch ahead.
    const server = started.add(
      await startLocalLm({
        model: tinyBos(),
        timing: {
          name: 'slow-fifo',
          callMs: 0,
          stepMs: 2,
          tokenMs: 0.5,
          floorMs: 2,
          maxSeqs: 64,
          maxTokens: 1024,
          chunkedPrefill: true,
        },
      }),
    );
    const states: string[] = [];
    const observer: SchedulerObserver = {
      batchSent() {},
      batchDone() {},
      queueDepth() {},
      cacheLookups() {},
      backendState: (_m, b, s) => void states.push(`${b}:${s}`),
    };
    const controller = started.add(
      await startTestController(
        {
          models: [{ name: 'tiny', backends: [server.url] }],
          scheduler: { maxInflightPerBackend: 4, maxBatchPrompts: 64 },
          cache: { maxBytes: 0 },
          health: { probeIntervalMs: 100, probeTimeoutMs: 250, failuresToEject: 2 },
        },
        { observer },
      ),
    );
    const url = `${controller.url}/v1/perplexity`;
    expect((await postJson(url, { texts: SENTENCES })).status).toBe(200);
    // Several seconds of queued work, in batches of a second or so each.
    const texts = (r: number) =>
      Array.from({ length: 192 }, (_, i) => `${SENTENCES[i % SENTENCES.length]} (load ${r}/${i})`);
    const answers = await Promise.all([0, 1, 2, 3].map((r) => postJson(url, { texts: texts(r) })));
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.json.degraded).toBe(false);
    }
    expect(states).not.toContain('tiny#0:unhealthy');
  });
});
