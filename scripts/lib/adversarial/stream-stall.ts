/**
 * @module
 * A streaming client that stops reading: how long until the controller drops the stream and frees it, at the
 * default `timeouts.streamStallMs`, and what the held stream cost in memory meanwhile.
 */
import type { AdversarialScenario } from './scenario.ts';
import { rawClient, round, serverEndOpen } from './raw-socket.ts';

const TEXTS = 3_000;
const LIMIT_MS = 90_000;

export const streamStall: AdversarialScenario = {
  id: 'stream-stall',
  title: 'release time of a stream whose client stopped reading',
  async run({ startTarget }) {
    const target = await startTarget({ config: { limits: { maxTextsPerStream: TEXTS } } });
    try {
      await target.collectGarbage();
      const rssBefore = await target.rssMiB();
      const heapBefore = await target.heapMiB();
      const body = JSON.stringify({
        stream: true,
        details: 'tokens',
        texts: Array.from(
          { length: TEXTS },
          (_, i) => `${i}: ${'the quiet harbor in the morning light '.repeat(20)}`,
        ),
      });
      const client = await rawClient(target.port);
      client.socket.write(
        'POST /v1/perplexity HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
          `Accept: application/x-ndjson\r\nAuthorization: Bearer ${target.key}\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`,
      );
      client.socket.write(body);
      await client.waitFor('"index"', 30_000);
      client.socket.pause();
      const paused = performance.now();
      const clientPort = client.socket.localPort as number;
      let rssHeld = await target.rssMiB();
      let heapHeld = await target.heapMiB();
      while (
        performance.now() - paused < LIMIT_MS &&
        (await serverEndOpen(target.port, clientPort))
      ) {
        rssHeld = Math.max(rssHeld, await target.rssMiB());
        heapHeld = Math.max(heapHeld, await target.heapMiB());
        await new Promise((r) => setTimeout(r, 250));
      }
      const released = (performance.now() - paused) / 1000;
      await new Promise((r) => setTimeout(r, 5_000));
      await target.collectGarbage();
      const rssAfter = await target.rssMiB();
      const heapAfter = await target.heapMiB();
      client.socket.destroy();
      return [
        {
          name: 'stream released after the client stopped reading',
          value: round(released, 2),
          unit: 's',
          note: 'default streamStallMs 30 s, plus the time to fill the socket buffers',
        },
        { name: 'RSS before the stream', value: rssBefore, unit: 'MiB' },
        { name: 'RSS while the stalled stream was held (max)', value: rssHeld, unit: 'MiB' },
        {
          name: 'RSS 5 s after release',
          value: rssAfter,
          unit: 'MiB',
          note: 'V8 keeps freed pages',
        },
        { name: 'V8 heap used before the stream', value: heapBefore, unit: 'MiB' },
        { name: 'V8 heap used while held (max)', value: heapHeld, unit: 'MiB' },
        { name: 'V8 heap used after release and a full GC', value: heapAfter, unit: 'MiB' },
      ];
    } finally {
      await target.close();
    }
  },
};
