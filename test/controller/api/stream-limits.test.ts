/**
 * NDJSON streams are bounded: a client that stops reading is dropped after `streamStallMs` and its stream's
 * slot and texts released; open streams are capped per key (429) and in all (503).
 */
import { describe, expect, it } from 'vitest';
import { closeAfterEach } from '../../helpers/close-after-each.ts';
import { rawConnection } from '../../helpers/raw-http.ts';
import { startKeyedController, type KeyedController } from '../../helpers/keyed-controller.ts';
import { collectLogLines } from '../../helpers/log-lines.ts';

const streamBody = (n: number, chars: number, details = 'none') =>
  JSON.stringify({
    stream: true,
    details,
    texts: Array.from({ length: n }, (_, i) => `${i} ${'word '.repeat(chars / 5)}`.slice(0, chars)),
  });

describe('stream limits', () => {
  const started = closeAfterEach();

  const post = (c: KeyedController, body: string) =>
    fetch(`${c.controller.url}/v1/perplexity`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/x-ndjson',
        authorization: `Bearer ${c.key}`,
      },
      body,
    });

  it('drops a stream whose client stopped reading, and frees its slot', async () => {
    const { lines, destination } = collectLogLines();
    const c = started.add(
      await startKeyedController(
        { timeouts: { streamStallMs: 400 }, limits: { maxConcurrentStreamsPerKey: 1 } },
        { logDestination: destination },
      ),
    );
    const body = streamBody(3_000, 800, 'tokens');
    const conn = await rawConnection(c.port);
    conn.write(
      'POST /v1/perplexity HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
        `Accept: application/x-ndjson\r\nAuthorization: Bearer ${c.key}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`,
    );
    conn.write(body);
    await conn.waitFor('"index"', 10_000);
    // The client stops reading; lines pile up in the socket buffers and then in the stream's queue.
    conn.socket.pause();
    await expect
      .poll(() => lines.some((l) => l.includes('"streamError":"stalled"')), { timeout: 15_000 })
      .toBe(true);
    const scoredAtStall = c.backend.completions.length;
    await new Promise((r) => setTimeout(r, 300));
    // Scoring stopped: the stream's texts were released, not kept in flight.
    expect(c.backend.completions.length - scoredAtStall).toBeLessThan(5);
    // Its slot is free again: the key's only stream slot takes a new stream.
    const next = await post(c, streamBody(2, 20));
    expect(next.status).toBe(200);
    await next.text();
    conn.socket.destroy();
  }, 30_000);

  it('caps the streams one key may have open (429) and the streams in all (503)', async () => {
    const perKey = started.add(
      await startKeyedController(
        { limits: { maxConcurrentStreamsPerKey: 1, maxConcurrentStreams: 10 } },
        { backend: { delayMs: 600 } },
      ),
    );
    const first = post(perKey, streamBody(3, 20));
    await new Promise((r) => setTimeout(r, 150));
    const second = await post(perKey, streamBody(3, 20));
    expect(second.status).toBe(429);
    const error = ((await second.json()) as any).error;
    expect(error.type).toBe('too_many_streams');
    expect(second.headers.get('retry-after')).toBeTruthy();
    const firstRes = await first;
    expect(firstRes.status).toBe(200);
    await firstRes.text();
    // Once it finished, the key may stream again.
    const third = await post(perKey, streamBody(1, 20));
    expect(third.status).toBe(200);
    await third.text();

    const total = started.add(
      await startKeyedController(
        { limits: { maxConcurrentStreamsPerKey: 5, maxConcurrentStreams: 1 } },
        { backend: { delayMs: 600 } },
      ),
    );
    const open = post(total, streamBody(3, 20));
    await new Promise((r) => setTimeout(r, 150));
    const refused = await post(total, streamBody(3, 20));
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as any).error.type).toBe('overloaded');
    await (await open).text();
  });
});
