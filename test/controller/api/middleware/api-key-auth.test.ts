import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import {
  apiKeyAuth,
  chargeScoredTokens,
  forwardedClientAddress,
  type ApiKeyAuthOptions,
} from '../../../../controller/api/middleware/api-key-auth.ts';
import { AuthFailureThrottle } from '../../../../controller/auth/auth-failure-throttle.ts';
import { KeyRing } from '../../../../controller/auth/key-ring.ts';
import { KeyRateLimiter } from '../../../../controller/auth/rate-limiter.ts';
import { captureLog } from '../../auth/capture-log.ts';
import { memoryStore } from '../../auth/memory-store.ts';

interface ErrorBody {
  error: { type: string; message: string; param?: string };
}

const PAST = '2020-01-01T00:00:00.000Z';
const rings: KeyRing[] = [];
afterEach(() => {
  for (const ring of rings.splice(0)) ring.stop();
});

async function setup(options: Partial<ApiKeyAuthOptions> = {}) {
  const store = memoryStore();
  const alice = store.add('alice');
  const limited = store.add('limited', { limits: { requestsPerMinute: 2, tokensPerMinute: 100 } });
  const revoked = store.add('revoked', { revokedAt: PAST });
  const expired = store.add('expired', { expiresAt: PAST });
  const ring = new KeyRing({ store, reloadMs: 60_000 });
  rings.push(ring);
  await ring.start();
  const log = captureLog();
  const app = new Hono();
  app.use(
    '/v1/*',
    apiKeyAuth({
      keyRing: ring,
      limiter: new KeyRateLimiter({ requestsPerMinute: 1_000, tokensPerMinute: 1_000_000 }),
      authThrottle: new AuthFailureThrottle({ maxFailures: 20 }),
      clientAddress: (c) => c.req.header('x-test-client') ?? '192.0.2.1',
      logger: log.logger,
      ...options,
    }),
  );
  app.post('/v1/perplexity', (c) => {
    chargeScoredTokens(c, Number(c.req.header('x-test-scored') ?? 0));
    return c.json({ keyId: c.get('keyId'), keyName: c.get('keyName') });
  });
  const call = (headers: Record<string, string> = {}, path = '/v1/perplexity') =>
    app.request(path, { method: 'POST', headers, body: '{}' });
  const bearer = (key: string, extra: Record<string, string> = {}) =>
    call({ Authorization: `Bearer ${key}`, ...extra });
  return { app, store, ring, log, call, bearer, alice, limited, revoked, expired };
}

describe('apiKeyAuth middleware', () => {
  it('answers 401 with WWW-Authenticate: Bearer when the header is missing', async () => {
    const { call } = await setup();
    const res = await call();
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toBe('Bearer realm="ensembled-perplexity"');
    expect(res.headers.get('Content-Type')).toMatch(/application\/json/);
    expect(await res.json()).toEqual({
      error: {
        type: 'unauthorized',
        message: 'missing API key: send it as "Authorization: Bearer <key>"',
      },
    });
  });

  it('answers the same 401 for malformed, unknown, revoked and expired keys', async () => {
    const { bearer, call, revoked, expired } = await setup();
    const unknownKey = (await import('../../../../controller/auth/key-format.ts')).generateKey()
      .key;
    const responses = [
      await bearer('not-a-key'),
      await call({ Authorization: 'Basic dXNlcjpwYXNz' }),
      await call({ Authorization: 'Bearer' }),
      await bearer(unknownKey),
      await bearer(revoked.key),
      await bearer(expired.key),
    ];
    const bodies = await Promise.all(responses.map((r) => r.text()));
    for (const res of responses) {
      expect(res.status).toBe(401);
      expect(res.headers.get('WWW-Authenticate')).toBe(
        'Bearer realm="ensembled-perplexity", error="invalid_token"',
      );
    }
    expect(new Set(bodies).size).toBe(1);
    expect(JSON.parse(bodies[0]!)).toEqual({
      error: { type: 'unauthorized', message: 'invalid API key' },
    });
  });

  it('lets a valid key through and sets keyId and keyName', async () => {
    const { bearer, call, alice } = await setup();
    const res = await bearer(alice.key);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ keyId: alice.id, keyName: 'alice' });
    // The auth scheme is case-insensitive (RFC 7235 §2.1).
    expect((await call({ Authorization: `bearer  ${alice.key}` })).status).toBe(200);
  });

  it('answers 429 with Retry-After once a key is over its requests per minute', async () => {
    const { bearer, limited } = await setup();
    expect((await bearer(limited.key)).status).toBe(200);
    expect((await bearer(limited.key)).status).toBe(200);
    const res = await bearer(limited.key);
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('Retry-After'))).toBeGreaterThanOrEqual(1);
    expect(await res.json()).toEqual({
      error: {
        type: 'rate_limit_exceeded',
        message: expect.stringMatching(/requests per minute/),
      },
    });
  });

  it('answers 429 while a key is in debt for the tokens charged after its responses', async () => {
    const { bearer, limited } = await setup();
    expect((await bearer(limited.key, { 'x-test-scored': '5000' })).status).toBe(200);
    const res = await bearer(limited.key);
    expect(res.status).toBe(429);
    expect(res.headers.get('Retry-After')).toBe('2941');
    expect(((await res.json()) as ErrorBody).error.message).toMatch(/tokens per minute/);
  });

  it('rejects keys in the query string with 400, whatever their value', async () => {
    const { call, alice } = await setup();
    for (const param of ['api_key', 'key', 'apikey', 'access_token']) {
      const res = await call(
        { Authorization: `Bearer ${alice.key}` },
        `/v1/perplexity?${param}=${alice.key}`,
      );
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        error: {
          type: 'invalid_request',
          message:
            'API keys are not accepted in the URL; send the key as "Authorization: Bearer <key>"',
          param,
        },
      });
    }
  });

  it('throttles the failures of an address, never a valid key from it, and not other addresses', async () => {
    const { bearer, alice, log } = await setup({
      authThrottle: new AuthFailureThrottle({ maxFailures: 3, windowMs: 60_000 }),
    });
    const attacker = { 'x-test-client': '203.0.113.9' };
    for (let i = 0; i < 3; i++) expect((await bearer('garbage', attacker)).status).toBe(401);
    // A colleague behind the same address with the right key still gets through.
    expect((await bearer(alice.key, attacker)).status).toBe(200);
    expect((await bearer('', attacker)).status).toBe(429);
    const blocked = await bearer('garbage', attacker);
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('Retry-After')).toBe('20');
    expect(((await blocked.json()) as ErrorBody).error.type).toBe('rate_limit_exceeded');
    expect((await bearer(alice.key, { 'x-test-client': '198.51.100.7' })).status).toBe(200);
    const warnings = log.entries().filter((e) => e.level === 40);
    expect(warnings).toEqual([expect.objectContaining({ client: '203.0.113.9' })]);
  });

  it('answers 503 with Retry-After, not 401, while no key set could be loaded', async () => {
    const store = memoryStore();
    const alice = store.add('alice');
    store.failWith = new Error('store down');
    const ring = new KeyRing({ store, reloadMs: 60_000 });
    rings.push(ring);
    await ring.start();
    const app = new Hono();
    app.use(
      '*',
      apiKeyAuth({
        keyRing: ring,
        limiter: new KeyRateLimiter({ requestsPerMinute: 10, tokensPerMinute: 10 }),
      }),
    );
    app.get('/x', (c) => c.text('ok'));
    const res = await app.request('/x', { headers: { Authorization: `Bearer ${alice.key}` } });
    expect(res.status).toBe(503);
    expect(res.headers.get('Retry-After')).toBe('5');
    expect(((await res.json()) as ErrorBody).error.type).toBe('unavailable');
  });

  it('with store "none", lets every request through as anonymous and warns once', async () => {
    const log = captureLog();
    const app = new Hono();
    app.use('*', apiKeyAuth({ keyRing: 'none', logger: log.logger }));
    app.get('/x', (c) => c.json({ keyId: c.get('keyId'), keyName: c.get('keyName') }));
    for (let i = 0; i < 3; i++) {
      const res = await app.request('/x');
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ keyId: 'anonymous', keyName: 'anonymous' });
    }
    expect(log.entries().filter((e) => e.level === 40)).toHaveLength(1);
    expect(log.lines[0]).toMatch(/authentication is disabled/);
  });

  it('fails at construction, not per request, when the limiter is missing', async () => {
    const { ring } = await setup();
    expect(() => apiKeyAuth({ keyRing: ring })).toThrow(/limiter/);
  });
});

describe('forwardedClientAddress', () => {
  const app = new Hono();
  app.get('/one', (c) => c.text(forwardedClientAddress({ trustedProxies: 1 })(c)));
  app.get('/two', (c) => c.text(forwardedClientAddress({ trustedProxies: 2 })(c)));
  const xff = { 'X-Forwarded-For': '6.6.6.6, 203.0.113.5, 130.176.0.1' };

  it('takes the entry added by the outermost trusted proxy and ignores client-supplied ones', async () => {
    expect(await (await app.request('/one', { headers: xff })).text()).toBe('130.176.0.1');
    expect(await (await app.request('/two', { headers: xff })).text()).toBe('203.0.113.5');
    expect(
      await (await app.request('/two', { headers: { 'X-Forwarded-For': '1.1.1.1' } })).text(),
    ).toBe('unknown');
  });

  it('rejects a nonsensical proxy count', () => {
    expect(() => forwardedClientAddress({ trustedProxies: 0 })).toThrow(/positive integer/);
  });
});
