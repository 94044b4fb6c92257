/**
 * @module
 * Poison input: an attacker keeps sending texts the backends fail on (a local-lm `poisonText` fault: 500 for any
 * batch holding the marker, as a vLLM engine does for an input that trips it) while a victim scores ordinary
 * texts. Measures the victim's availability (200 with every model), whether the backends stay in service
 * (`/readyz`), and what the attacker gets back.
 */
import { instantEngine, startLocalLm, type LocalLmServer } from '../../../images/local-lm/index.ts';
import { percentile, round } from './raw-socket.ts';
import type { AdversarialScenario } from './scenario.ts';
import { loopUntil, readySeconds, scoreOnce } from './scoring-client.ts';

const MARKER = 'xq-poison-marker';
const SECONDS = 15;
const ATTACKERS = 4;

export const poisonInput: AdversarialScenario = {
  id: 'poison-input',
  title: `victim availability while ${ATTACKERS} clients send poison texts (${SECONDS} s)`,
  async run({ startTarget, log }) {
    const backends: LocalLmServer[] = [];
    for (let m = 0; m < 2; m++) {
      const server = await startLocalLm({
        model: instantEngine({ name: `p${m}`, addsBos: m % 2 === 0 }),
        maxModelLen: 4096,
      });
      await server.faults.set({ kind: 'poisonText', marker: MARKER });
      backends.push(server);
    }
    const target = await startTarget({
      models: backends.map((b) => ({ name: b.servedName, backends: [b.url] })),
      keys: 2,
    });
    try {
      const [victimKey, attackerKey] = target.keys as [string, string];
      const until = performance.now() + SECONDS * 1000;
      log(`  ${ATTACKERS} attackers and one victim for ${SECONDS} s`);
      const attacks = Array.from({ length: ATTACKERS }, (_, a) =>
        loopUntil(until, (i) =>
          scoreOnce(target.url, attackerKey, {
            // Every text new, so the controller's memory of rejected texts does not help it.
            texts: [`attack ${a}/${i} ${MARKER}`, `filler ${a}/${i} words to batch with`],
            min_models: 1,
          }),
        ),
      );
      const victim = loopUntil(
        until,
        (i) =>
          scoreOnce(target.url, victimKey, {
            texts: [`the victim's text number ${i}`, `and another one of the victim ${i}`],
          }),
        20,
      );
      const ready = readySeconds(target.url, until);
      const [attackResults, victimResults, readyPct] = await Promise.all([
        Promise.all(attacks).then((r) => r.flat()),
        victim,
        ready,
      ]);
      const served = victimResults.filter((r) => r.status === 200 && !r.degraded).length;
      const rejected = attackResults.filter((r) => r.textError === 'backend_rejected_text').length;
      return [
        {
          name: 'victim availability (200, every model)',
          value: round((100 * served) / Math.max(1, victimResults.length), 1),
          unit: '%',
          note: `${victimResults.length} victim requests`,
        },
        {
          name: 'victim p95 latency',
          value: round(
            percentile(
              victimResults.map((r) => r.ms),
              95,
            ),
            1,
          ),
          unit: 'ms',
        },
        { name: '/readyz 200', value: round(readyPct, 1), unit: '% of samples' },
        {
          name: 'attacker requests whose poison text got backend_rejected_text',
          value: round((100 * rejected) / Math.max(1, attackResults.length), 1),
          unit: '%',
          note: `${attackResults.length} attacker requests`,
        },
      ];
    } finally {
      await target.close();
      for (const b of backends) await b.close();
    }
  },
};
