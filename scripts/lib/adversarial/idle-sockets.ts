/**
 * @module
 * A connection flood: up to 15,000 sockets that connect and send nothing, held while a keyed client scores and
 * a balancer polls `/readyz`. Bounded by this process's open-file limit (the controller, its own process, has
 * the same limit and keeps `server.reservedFileDescriptors` of it for its backend calls).
 */
import { connect, type Socket } from 'node:net';
import { openFileLimit } from '../../../controller/api/http/file-descriptors.ts';
import type { AdversarialScenario } from './scenario.ts';
import { percentile, round } from './raw-socket.ts';

const WANTED = 15_000;
/** Descriptors this process keeps for itself (backends, the scoring client, stdio). */
const OWN_HEADROOM = 1_500;
const REQUESTS = 100;
const CONCURRENCY = 8;

export const idleSockets: AdversarialScenario = {
  id: 'idle-sockets',
  title: `service while ${WANTED.toLocaleString('en')} idle sockets are open`,
  async run({ startTarget, log }) {
    const limit = openFileLimit() ?? 1_024;
    const count = Math.max(0, Math.min(WANTED, limit - OWN_HEADROOM));
    if (count < WANTED) log(`idle sockets: ulimit -n is ${limit}, opening ${count}`);
    const target = await startTarget();
    const sockets: Socket[] = [];
    try {
      const fdsBefore = await target.openFds();
      const opening = performance.now();
      let refused = 0;
      for (let i = 0; i < count; i += 500) {
        await Promise.all(
          Array.from(
            { length: Math.min(500, count - i) },
            () =>
              new Promise<void>((resolve) => {
                const s = connect({ host: '127.0.0.1', port: target.port }, () => resolve());
                s.on('error', () => {
                  refused += 1;
                  resolve();
                });
                sockets.push(s);
              }),
          ),
        );
      }
      const openSeconds = (performance.now() - opening) / 1000;
      const fdsHeld = (await target.openFds()) - fdsBefore;

      const latencies: number[] = [];
      let ok = 0;
      let readyOk = 0;
      let readyTotal = 0;
      const body = JSON.stringify({ texts: ['The harbor was quiet in the morning.'] });
      let next = 0;
      const worker = async () => {
        while (next < REQUESTS) {
          next += 1;
          const started = performance.now();
          try {
            const res = await fetch(`${target.url}/v1/perplexity`, {
              method: 'POST',
              headers: {
                'content-type': 'application/json',
                authorization: `Bearer ${target.key}`,
              },
              body,
              signal: AbortSignal.timeout(10_000),
            });
            await res.arrayBuffer();
            if (res.status === 200) ok += 1;
          } catch {
            // counted as a failure
          }
          latencies.push(performance.now() - started);
        }
      };
      let polling = true;
      const poll = (async () => {
        while (polling) {
          readyTotal += 1;
          try {
            const res = await fetch(`${target.url}/readyz`, { signal: AbortSignal.timeout(2_000) });
            await res.arrayBuffer();
            if (res.status === 200) readyOk += 1;
          } catch {
            // not ready
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      polling = false;
      await poll;
      return [
        {
          name: 'idle sockets opened',
          value: count - refused,
          unit: 'sockets',
          note: `ulimit -n ${limit}`,
        },
        { name: 'time to open them', value: round(openSeconds, 2), unit: 's' },
        { name: 'held by the controller', value: fdsHeld, unit: 'descriptors' },
        { name: 'scoring requests answered 200', value: ok, unit: `of ${REQUESTS}` },
        { name: 'scoring latency p50', value: round(percentile(latencies, 50)), unit: 'ms' },
        { name: 'scoring latency p95', value: round(percentile(latencies, 95)), unit: 'ms' },
        { name: '/readyz answered 200', value: readyOk, unit: `of ${readyTotal}` },
      ];
    } finally {
      for (const s of sockets) s.destroy();
      await target.close();
    }
  },
};
