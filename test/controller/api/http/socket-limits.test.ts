/** Limits of the HTTP server that hold before any key is checked: slow headers, connection floods. */
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { closeAfterEach } from '../../../helpers/close-after-each.ts';
import { rawConnection, rawJsonBody, rawStatus } from '../../../helpers/raw-http.ts';
import { startKeyedController } from '../../../helpers/keyed-controller.ts';

describe('server limits', () => {
  const started = closeAfterEach();
  /** Destroys the socket after the test, before the controller it connects to is closed. */
  const destroyAfterTest = (s: Socket) => started.add({ close: () => void s.destroy() });

  it('answers 408 and closes a connection whose headers do not arrive within headersTimeoutMs', async () => {
    const c = started.add(await startKeyedController({ server: { headersTimeoutMs: 500 } }));
    const conn = await rawConnection(c.port);
    conn.write('POST /v1/perplexity HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const sentAt = Date.now();
    const response = await conn.waitFor('}', 4_000);
    expect(rawStatus(response)).toBe(408);
    expect(rawJsonBody(response).error.type).toBe('request_timeout');
    await conn.closed(2_000);
    expect(Date.now() - sentAt).toBeLessThan(3_000);
  });

  it('caps open connections and keeps serving while idle sockets flood it', async () => {
    const c = started.add(await startKeyedController({ server: { maxConnections: 20 } }));
    let closedByServer = 0;
    await Promise.all(
      Array.from(
        { length: 60 },
        () =>
          new Promise<void>((resolve) => {
            const s = connect({ host: '127.0.0.1', port: c.port }, () => resolve());
            s.on('error', () => resolve());
            s.on('close', () => (closedByServer += 1));
            destroyAfterTest(s);
          }),
      ),
    );
    // Over the cap, or idle while the server nears it: the server closes them, so a real client gets through.
    await expect.poll(() => closedByServer, { timeout: 3_000 }).toBeGreaterThanOrEqual(40);
    const res = await fetch(`${c.controller.url}/healthz`);
    expect(res.status).toBe(200);
    const scored = await fetch(`${c.controller.url}/v1/perplexity`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${c.key}` },
      body: JSON.stringify({ texts: ['hello'] }),
    });
    expect(scored.status).toBe(200);
  });

  it('closes a keep-alive connection after maxRequestsPerSocket requests', async () => {
    const c = started.add(await startKeyedController({ server: { maxRequestsPerSocket: 2 } }));
    const conn = await rawConnection(c.port);
    const get = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
    conn.write(get);
    await conn.waitFor('}', 2_000);
    conn.write(get);
    await expect.poll(() => conn.received().match(/HTTP\/1\.1 200/g)?.length ?? 0).toBe(2);
    const second = conn.received().slice(conn.received().lastIndexOf('HTTP/1.1 200'));
    expect(second.toLowerCase()).toContain('connection: close');
  });
});
