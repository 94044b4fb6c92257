/**
 * @module
 * Slow clients: one sends half its headers and stops; one, with a key, sends part of its body and stops. How long
 * does the controller hold each connection (at its default `server.headersTimeoutMs` and `server.bodyIdleMs`)?
 */
import type { AdversarialScenario } from './scenario.ts';
import { rawClient, round } from './raw-socket.ts';

const LIMIT_MS = 60_000;

export const slowBody: AdversarialScenario = {
  id: 'slow-body',
  title: 'hold time of a stalled request (headers, body) at the default limits',
  async run({ startTarget }) {
    const target = await startTarget();
    try {
      const headers = await rawClient(target.port);
      headers.socket.write('POST /v1/perplexity HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      const body = await rawClient(target.port);
      body.socket.write(
        'POST /v1/perplexity HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
          `Authorization: Bearer ${target.key}\r\nContent-Length: 1000000\r\n\r\n{"texts":["abc`,
      );
      await Promise.all([headers.waitClosed(LIMIT_MS), body.waitClosed(LIMIT_MS)]);
      const status = (c: typeof body) => Number(/^HTTP\/1\.1 (\d{3})/.exec(c.received())?.[1]);
      const figures = [
        {
          name: 'stalled headers: held for',
          value: round((headers.closedMs() ?? LIMIT_MS) / 1000, 2),
          unit: 's',
          note: `answered ${status(headers)}`,
        },
        {
          name: 'stalled body (with a key): held for',
          value: round((body.closedMs() ?? LIMIT_MS) / 1000, 2),
          unit: 's',
          note: `answered ${status(body)}`,
        },
      ];
      headers.socket.destroy();
      body.socket.destroy();
      return figures;
    } finally {
      await target.close();
    }
  },
};
