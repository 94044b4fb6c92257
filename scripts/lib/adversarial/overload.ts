/**
 * @module
 * Overload: one key keeps 300 connections busy with 100-text requests against one model on an emulated L4
 * (local-lm's `l4-goal-bf16-mistral` timing), far more than it can score; another key sends single texts.
 * Measures the other key's latency, and how the flood is shed (503 with Retry-After, not queued to time out).
 */
import { instantEngine, startLocalLm } from '../../../images/local-lm/index.ts';
import { percentile, round } from './raw-socket.ts';
import type { AdversarialScenario } from './scenario.ts';
import { loopUntil, scoreOnce } from './scoring-client.ts';

const CONNECTIONS = 300;
const TEXTS = 100;
const SECONDS = 20;

export const overload: AdversarialScenario = {
  id: 'overload',
  title: `another key's latency under a ${CONNECTIONS}-connection overload (${TEXTS} texts each, ${SECONDS} s)`,
  async run({ startTarget, log }) {
    const backend = await startLocalLm({
      model: instantEngine({ name: 'o0' }),
      maxModelLen: 4096,
      timing: 'l4-goal-bf16-mistral',
    });
    const target = await startTarget({
      models: [{ name: backend.servedName, backends: [backend.url] }],
      keys: 2,
      config: { auth: { tokensPerMinute: 1_000_000_000 } },
    });
    try {
      const [floodKey, otherKey] = target.keys as [string, string];
      const words = 'the harbor lights came on one by one along the quiet water'.split(' ');
      const text = (i: number, j: number) =>
        `${i}.${j} ${Array.from({ length: 40 }, (_, k) => words[(i + j + k) % words.length]).join(' ')}`;
      const until = performance.now() + SECONDS * 1000;
      log(`  ${CONNECTIONS} flooding connections and one other key for ${SECONDS} s`);
      let n = 0;
      const flood = Array.from({ length: CONNECTIONS }, () =>
        loopUntil(until, async () => {
          const i = n++;
          const r = await scoreOnce(target.url, floodKey, {
            texts: Array.from({ length: TEXTS }, (_, j) => text(i, j)),
          });
          // A refused client waits as told, and comes back (its connection stays in the flood).
          if (r.status === 503) {
            const seconds = Math.min(Number(r.retryAfter) || 1, SECONDS);
            await new Promise((res) => setTimeout(res, seconds * 1_000));
          }
          return r;
        }),
      );
      // Give the flood a head start, so the other key arrives at a full queue.
      await new Promise((r) => setTimeout(r, 2_000));
      const other = loopUntil(
        until,
        (i) => scoreOnce(target.url, otherKey, { texts: [`one text of the other key, ${i}`] }),
        200,
      );
      // The controller's own responsiveness: an open route that does no scoring.
      const alive = loopUntil(
        until,
        async () => {
          const started = performance.now();
          await fetch(`${target.url}/healthz`)
            .then((r) => r.arrayBuffer())
            .catch(() => undefined);
          return performance.now() - started;
        },
        200,
      );
      const [floodResults, otherResults, aliveMs] = await Promise.all([
        Promise.all(flood).then((r) => r.flat()),
        other,
        alive,
      ]);
      const ok = otherResults.filter((r) => r.status === 200);
      const shed = floodResults.filter((r) => r.status === 503);
      const retryAfter = shed.map((r) => Number(r.retryAfter)).filter(Number.isFinite);
      const floodOk = floodResults.filter((r) => r.status === 200);
      return [
        {
          name: "other key's p95 latency",
          value: round(
            percentile(
              ok.map((r) => r.ms),
              95,
            ),
            0,
          ),
          unit: 'ms',
          note: `${ok.length} of ${otherResults.length} answered 200 (others: ${otherResults
            .filter((r) => r.status !== 200)
            .map((r) => r.status)
            .join(', ')})`,
        },
        {
          name: "other key's p50 latency",
          value: round(
            percentile(
              ok.map((r) => r.ms),
              50,
            ),
            0,
          ),
          unit: 'ms',
        },
        {
          name: '/healthz p95 latency (controller responsiveness)',
          value: round(percentile(aliveMs, 95), 0),
          unit: 'ms',
          note: `${aliveMs.length} samples`,
        },
        {
          name: 'flood requests refused (503)',
          value: shed.length,
          unit: `of ${floodResults.length}`,
          note: `Retry-After p50 ${percentile(retryAfter, 50)} s, max ${Math.max(0, ...retryAfter)} s`,
        },
        {
          name: 'flood requests answered 200, p99 latency',
          value: round(
            percentile(
              floodOk.map((r) => r.ms),
              99,
            ) / 1000,
            1,
          ),
          unit: 's',
          note: `${floodOk.length} answered; other statuses: ${floodResults.length - floodOk.length - shed.length}`,
        },
      ];
    } finally {
      await target.close();
      await backend.close();
    }
  },
};
