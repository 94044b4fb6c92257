/**
 * The key is checked before a byte of the body is read, and bodies are read under a byte cap (whatever the
 * transfer coding) and an idle timeout. Real sockets on loopback: what matters is when the server answers and
 * closes, while the client is still sending.
 */
import { describe, expect, it } from 'vitest';
import { closeAfterEach } from '../../../helpers/close-after-each.ts';
import { rawConnection, rawJsonBody, rawStatus } from '../../../helpers/raw-http.ts';
import { startKeyedController } from '../../../helpers/keyed-controller.ts';
import { collectLogLines } from '../../../helpers/log-lines.ts';

const LIMITS = { maxBodyBytes: 2_000, maxStreamBodyBytes: 20_000 };

function chunkedHeaders(extra: string): string {
  return (
    'POST /v1/perplexity HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
    `Transfer-Encoding: chunked\r\n${extra}\r\n`
  );
}
const chunk = (data: string) => `${Buffer.byteLength(data).toString(16)}\r\n${data}\r\n`;

describe('request bodies', () => {
  const started = closeAfterEach();
  const start = async (...args: Parameters<typeof startKeyedController>) =>
    started.add(await startKeyedController(...args));

  it('answers a keyless chunked upload 401 at once and closes the connection while the client still sends', async () => {
    const { port } = await start({ limits: LIMITS });
    const conn = await rawConnection(port);
    conn.write(chunkedHeaders('Accept: application/x-ndjson\r\n'));
    conn.write(chunk('{"texts":["' + 'a'.repeat(1000)));
    // The body never ends: the answer must not wait for it.
    const response = await conn.waitFor('}', 2_000);
    expect(rawStatus(response)).toBe(401);
    expect(rawJsonBody(response).error.type).toBe('unauthorized');
    expect(response.toLowerCase()).toContain('connection: close');
    for (let i = 0; i < 20 && !conn.socket.destroyed; i++) conn.write(chunk('a'.repeat(1000)));
    await conn.closed(2_000);
  });

  it('refuses a chunked stream body over maxStreamBodyBytes as soon as it passes the cap', async () => {
    const { port, key } = await start({ limits: LIMITS });
    const conn = await rawConnection(port);
    conn.write(chunkedHeaders(`Accept: application/x-ndjson\r\nAuthorization: Bearer ${key}\r\n`));
    conn.write(chunk('{"stream":true,"texts":["'));
    for (let i = 0; i < 25; i++) conn.write(chunk('a'.repeat(1_000)));
    const response = await conn.waitFor('}', 2_000);
    expect(rawStatus(response)).toBe(413);
    expect(rawJsonBody(response).error.type).toBe('payload_too_large');
    await conn.closed(2_000);
  });

  it('holds a chunked non-stream request to maxBodyBytes even with Accept: application/x-ndjson', async () => {
    const { port, key } = await start({ limits: LIMITS });
    const conn = await rawConnection(port);
    conn.write(chunkedHeaders(`Accept: application/x-ndjson\r\nAuthorization: Bearer ${key}\r\n`));
    conn.write(chunk(JSON.stringify({ texts: ['a'.repeat(5_000)] })));
    conn.write('0\r\n\r\n');
    const response = await conn.waitFor('}', 5_000);
    expect(rawStatus(response)).toBe(413);
  });

  it('answers 408 and closes when the body stops arriving for bodyIdleMs', async () => {
    const { port, key } = await start({ limits: LIMITS, server: { bodyIdleMs: 300 } });
    const conn = await rawConnection(port);
    conn.write(
      'POST /v1/perplexity HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
        `Authorization: Bearer ${key}\r\nContent-Length: 100\r\n\r\n{"texts":`,
    );
    const started = Date.now();
    const response = await conn.waitFor('}', 3_000);
    expect(rawStatus(response)).toBe(408);
    expect(rawJsonBody(response).error.type).toBe('request_timeout');
    expect(Date.now() - started).toBeLessThan(2_500);
    await conn.closed(2_000);
  });

  it('refuses a Content-Encoding and a non-UTF-8 charset with 415 naming the header', async () => {
    const { controller, key } = await start({ limits: LIMITS });
    const post = (headers: Record<string, string>) =>
      fetch(`${controller.url}/v1/perplexity`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, ...headers },
        body: JSON.stringify({ texts: ['a'] }),
      });
    const gzip = await post({ 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(gzip.status).toBe(415);
    expect(((await gzip.json()) as any).error.param).toBe('Content-Encoding');
    const utf16 = await post({ 'content-type': 'application/json; charset=utf-16' });
    expect(utf16.status).toBe(415);
    expect(((await utf16.json()) as any).error.param).toBe('Content-Type');
    const utf8 = await post({ 'content-type': 'application/json; charset=UTF-8' });
    expect(utf8.status).toBe(200);
  });

  it('logs an upload the client abandoned as client-closed at info level, not as a 5xx with a stack', async () => {
    const { lines, destination } = collectLogLines();
    const { port, key } = await start({ limits: LIMITS }, { logDestination: destination });
    for (let i = 0; i < 3; i++) {
      const conn = await rawConnection(port);
      conn.write(
        'POST /v1/perplexity HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
          `Authorization: Bearer ${key}\r\nContent-Length: 1000\r\n\r\n{"texts":["abc`,
      );
      await new Promise((r) => setTimeout(r, 50));
      conn.socket.destroy();
    }
    await expect.poll(() => lines.filter((l) => l.includes('"status":499')).length).toBe(3);
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(entries.filter((e) => (e.level as number) >= 50)).toEqual([]);
    expect(lines.join('\n')).not.toMatch(/stack|"status":5\d\d/);
    for (const e of entries.filter((e) => e.status === 499)) expect(e.level).toBe(30);
  });
});

describe('keys the schema would drop silently', () => {
  const started = closeAfterEach();

  it('answers weights: {"__proto__": 5} with a 400 naming the field', async () => {
    const c = started.add(await startKeyedController());
    const res = await fetch(`${c.controller.url}/v1/perplexity`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${c.key}` },
      body: '{"texts":["a"],"weights":{"__proto__":5}}',
    });
    expect(res.status).toBe(400);
    const error = ((await res.json()) as any).error;
    expect(error.param).toBe('weights.__proto__');
    expect(error.message).toContain('__proto__');
    // A text that merely mentions it is fine.
    const ok = await fetch(`${c.controller.url}/v1/perplexity`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${c.key}` },
      body: JSON.stringify({ texts: ['obj.__proto__ = x'] }),
    });
    expect(ok.status).toBe(200);
  });
});
