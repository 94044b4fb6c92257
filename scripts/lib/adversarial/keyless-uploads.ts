/**
 * @module
 * Keyless uploads: six clients without a key each try to stream 100 MiB (chunked, `Accept: application/x-ndjson`,
 * the largest body limit). The controller should answer 401 from the headers and close, holding no body.
 */
import type { AdversarialScenario, Figure } from './scenario.ts';
import { rawClient, round, writeDrained } from './raw-socket.ts';
import { sampleMax } from './target.ts';

const CLIENTS = 6;
const BYTES_EACH = 100 * 2 ** 20;
const CHUNK = 64 * 1024;
const TIME_LIMIT_MS = 30_000;

export const keylessUploads: AdversarialScenario = {
  id: 'keyless-uploads',
  title: `RSS growth under ${CLIENTS} keyless 100 MiB chunked uploads`,
  async run({ startTarget, log }) {
    const target = await startTarget();
    try {
      const before = await target.rssMiB();
      const peak = sampleMax(() => target.rssMiB(), 25);
      const chunk = `${CHUNK.toString(16)}\r\n${'a'.repeat(CHUNK)}\r\n`;
      const deadline = performance.now() + TIME_LIMIT_MS;
      const results = await Promise.all(
        Array.from({ length: CLIENTS }, async () => {
          const client = await rawClient(target.port);
          await writeDrained(
            client.socket,
            'POST /v1/perplexity HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
              'Accept: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n',
          );
          let sent = 0;
          while (sent < BYTES_EACH && performance.now() < deadline) {
            if (!(await writeDrained(client.socket, chunk))) break;
            sent += CHUNK;
          }
          await client.waitClosed(5_000);
          const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(client.received())?.[1]);
          client.socket.destroy();
          return { sent, status, first: client.firstByteMs(), closed: client.closedMs() };
        }),
      );
      const peakMiB = await peak.stop();
      const after = await target.rssMiB();
      log(`keyless uploads: statuses ${results.map((r) => r.status).join(',')}`);
      const maxOf = (f: (r: (typeof results)[number]) => number | undefined) =>
        Math.max(...results.map((r) => f(r) ?? Infinity));
      const figures: Figure[] = [
        { name: 'RSS before', value: before, unit: 'MiB' },
        { name: 'RSS peak during the uploads', value: peakMiB, unit: 'MiB' },
        { name: 'RSS growth (peak − before)', value: round(peakMiB - before), unit: 'MiB' },
        { name: 'RSS after', value: after, unit: 'MiB' },
        {
          name: 'answered 401',
          value: results.filter((r) => r.status === 401).length,
          unit: `of ${CLIENTS}`,
        },
        { name: 'slowest 401 (first byte)', value: round(maxOf((r) => r.first)), unit: 'ms' },
        { name: 'slowest close by the server', value: round(maxOf((r) => r.closed)), unit: 'ms' },
        {
          name: 'most body bytes a client got into the socket',
          value: round(Math.max(...results.map((r) => r.sent)) / 2 ** 20, 2),
          unit: 'MiB',
          note: 'of 100 MiB tried; kernel buffers included',
        },
      ];
      return figures;
    } finally {
      await target.close();
    }
  },
};
