/**
 * Logs carry key ids, never keys or the texts being scored. Every auth component runs here with a capturing
 * pino logger at trace level through success and every failure, and the captured lines are grepped.
 */
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { apiKeyAuth } from '../../../controller/api/middleware/api-key-auth.ts';
import { AuthFailureThrottle } from '../../../controller/auth/auth-failure-throttle.ts';
import { parseKey } from '../../../controller/auth/key-format.ts';
import { KeyRing } from '../../../controller/auth/key-ring.ts';
import { KeyRateLimiter } from '../../../controller/auth/rate-limiter.ts';
import { captureLog } from './capture-log.ts';
import { forgeKeyWithId } from './forge-key.ts';
import { memoryStore } from './memory-store.ts';

const TEXT = 'The quick brown fox, a very private sentence 7f3a';

describe('auth logging', () => {
  it('never writes a key, a secret or a scored text, and does write key ids', async () => {
    const log = captureLog();
    const store = memoryStore();
    const alice = store.add('alice', { limits: { requestsPerMinute: 1 } });
    const revoked = store.add('revoked', { revokedAt: '2020-01-01T00:00:00Z' });
    const expired = store.add('expired', { expiresAt: '2020-01-01T00:00:00Z' });
    const forged = forgeKeyWithId(alice.id);
    const ring = new KeyRing({ store, reloadMs: 60_000, logger: log.logger });
    await ring.start();
    store.failWith = new Error('unreachable');
    await ring.reload();
    store.failWith = undefined;
    await ring.reload();
    ring.stop();

    const app = new Hono();
    app.use(
      '*',
      apiKeyAuth({
        keyRing: ring,
        limiter: new KeyRateLimiter({ requestsPerMinute: 100, tokensPerMinute: 1_000 }),
        authThrottle: new AuthFailureThrottle({ maxFailures: 6 }),
        clientAddress: () => '192.0.2.10',
        logger: log.logger,
      }),
    );
    app.post('/v1/perplexity', (c) => c.json({ ok: true }));
    const send = (auth: string | undefined, path = '/v1/perplexity') =>
      app.request(path, {
        method: 'POST',
        headers: auth === undefined ? {} : { Authorization: auth },
        body: JSON.stringify({ texts: [TEXT] }),
      });

    const statuses = [
      (await send(`Bearer ${alice.key}`)).status,
      (await send(`Bearer ${alice.key}`)).status, // over its 1 request per minute
      (await send(`Bearer ${forged}`)).status,
      (await send(`Bearer ${revoked.key}`)).status,
      (await send(`Bearer ${expired.key}`)).status,
      (await send(`Bearer ${alice.key}x`)).status,
      (await send(`Basic ${alice.key}`)).status,
      (await send(undefined, `/v1/perplexity?api_key=${alice.key}`)).status,
      (await send(`Bearer ${forged}`)).status, // sixth failure: the address gets blocked
      (await send(`Bearer ${alice.key}`)).status,
    ];
    expect(statuses).toEqual([200, 429, 401, 401, 401, 401, 401, 400, 401, 429]);

    const all = log.lines.join('\n');
    expect(log.lines.length).toBeGreaterThan(8);
    for (const key of [alice.key, revoked.key, expired.key, forged]) {
      expect(all).not.toContain(key);
      expect(all).not.toContain(parseKey(key)!.secret);
    }
    expect(all).not.toContain(TEXT);
    expect(all).not.toContain('quick brown fox');
    // What is logged instead: key ids and reasons.
    expect(all).toContain(alice.id);
    expect(all).toContain(revoked.id);
    expect(log.entries().map((e) => e.reason)).toEqual(
      expect.arrayContaining(['unknown', 'revoked', 'expired', 'malformed']),
    );
  });
});
