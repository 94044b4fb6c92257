/**
 * @module
 * A frozen replica: one of two models (one replica each, the default deployment) stops answering scoring calls
 * while its port stays open (local-lm `hang` on `/v1/completions`). Clients ask for `min_models: 1`. Measures
 * how long degraded answers take (the first, before the replica is ejected, rides the attempt timeout), and when
 * the replica is ejected, with the default settings.
 */
import { instantEngine, startLocalLm, type LocalLmServer } from '../../../images/local-lm/index.ts';
import { percentile, round } from './raw-socket.ts';
import type { AdversarialScenario } from './scenario.ts';
import { loopUntil, scoreOnce } from './scoring-client.ts';

const SECONDS = 20;
const DEADLINE_MS = 60_000;

export const frozenReplica: AdversarialScenario = {
  id: 'frozen-replica',
  title: `degraded-answer time with a frozen replica (min_models 1, ${DEADLINE_MS / 1000} s deadline, ${SECONDS} s)`,
  async run({ startTarget, log }) {
    const backends: LocalLmServer[] = [];
    for (let m = 0; m < 2; m++) {
      backends.push(
        await startLocalLm({
          model: instantEngine({ name: `f${m}`, addsBos: m % 2 === 0 }),
          maxModelLen: 4096,
        }),
      );
    }
    const target = await startTarget({
      models: backends.map((b) => ({ name: b.servedName, backends: [b.url] })),
    });
    try {
      const body = (i: number) => ({
        texts: [`a text scored while one replica is frozen, number ${i}`],
        min_models: 1,
        timeout_ms: DEADLINE_MS,
      });
      // Warm: both models answer, and their rates are measured.
      for (let i = 0; i < 5; i++) await scoreOnce(target.url, target.key, body(-1 - i));
      await (backends[0] as LocalLmServer).faults.set({
        kind: 'hang',
        onlyFor: ['/v1/completions'],
      });
      const frozenAt = performance.now();
      log(`  f0 frozen; scoring for ${SECONDS} s`);
      let ejectedAfter = NaN;
      const until = frozenAt + SECONDS * 1000;
      const watch = (async () => {
        while (performance.now() < until && Number.isNaN(ejectedAfter)) {
          const models = (await fetch(`${target.url}/v1/models`)
            .then((r) => r.json())
            .catch(() => undefined)) as
            { data: { backends: { id: string; state: string }[] }[] } | undefined;
          const state = models?.data.flatMap((m) => m.backends).find((b) => b.id === 'f0#0')?.state;
          if (state === 'unhealthy') ejectedAfter = (performance.now() - frozenAt) / 1000;
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      // Four clients, so some requests are in flight at every moment of the freeze.
      const results = (
        await Promise.all(
          [0, 1, 2, 3].map((c) =>
            loopUntil(until, (i) => scoreOnce(target.url, target.key, body(c * 10_000 + i)), 100),
          ),
        )
      ).flat();
      await watch;
      const degraded = results.filter((r) => r.status === 200 && r.degraded);
      const ms = degraded.map((r) => r.ms);
      return [
        {
          name: 'degraded answers',
          value: degraded.length,
          unit: `of ${results.length}`,
          note: 'the rest: status other than 200 or not degraded',
        },
        { name: 'degraded-answer time, max', value: round(Math.max(...ms) / 1000, 2), unit: 's' },
        {
          name: 'degraded-answer time, p95',
          value: round(percentile(ms, 95) / 1000, 2),
          unit: 's',
        },
        {
          name: 'degraded-answer time, p50',
          value: round(percentile(ms, 50) / 1000, 3),
          unit: 's',
        },
        { name: 'frozen replica ejected after', value: round(ejectedAfter, 1), unit: 's' },
      ];
    } finally {
      await target.close();
      for (const b of backends) await b.faults.clear().catch(() => {});
      for (const b of backends) await b.close();
    }
  },
};
