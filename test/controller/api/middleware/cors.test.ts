import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyAdmin } from '../../../../controller/auth/key-admin.ts';
import { openKeyStore } from '../../../../controller/auth/stores/open-key-store.ts';
import { parseConfig } from '../../../../controller/config.ts';
import type { AssembledController } from '../../../../controller/api/server.ts';
import { startFakeVllm } from '../../../helpers/fake-vllm.ts';
import type { FakeVllm } from '../../../helpers/fake-vllm.ts';
import { startTestApp } from '../../../helpers/controller.ts';

const ALLOWED = 'https://app.example.com';
const OTHER = 'https://evil.example.net';

const preflight = (origin: string, path = '/v1/perplexity') =>
  new Request(`http://localhost${path}`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type',
    },
  });

/** A scoring request from a page at `origin`, carrying the API key `key` when given. */
const scoreFrom = (origin: string, key?: string) =>
  new Request('http://localhost/v1/perplexity', {
    method: 'POST',
    headers: {
      origin,
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      'content-type': 'application/json',
    },
    body: JSON.stringify({ texts: ['hello'] }),
  });

describe('CORS', () => {
  let backend: FakeVllm;
  let dir: string;
  let key: string;
  let withOrigins: AssembledController;
  let byDefault: AssembledController;

  beforeAll(async () => {
    backend = await startFakeVllm();
    dir = mkdtempSync(join(tmpdir(), 'ep-cors-'));
    const store = `file:${join(dir, 'keys.json')}`;
    key = (await new KeyAdmin(openKeyStore(store, { create: true })).create({ name: 'cors' })).key;
    const input = { models: [{ name: 'm', backends: [backend.url] }], auth: { store } };
    withOrigins = await startTestApp({ ...input, cors: { allowedOrigins: [ALLOWED] } });
    byDefault = await startTestApp(input);
  });
  afterAll(async () => {
    await withOrigins?.close();
    await byDefault?.close();
    await backend?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers an allowed origin’s preflight before authentication', async () => {
    const res = await withOrigins.app.request(preflight(ALLOWED));
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    const allowedHeaders = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase();
    expect(allowedHeaders).toContain('authorization');
    expect(allowedHeaders).toContain('content-type');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('lets an allowed page read the answer and Retry-After, also on auth errors', async () => {
    const ok = await withOrigins.app.request(scoreFrom(ALLOWED, key));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(ok.headers.get('access-control-expose-headers')).toMatch(/retry-after/i);
    expect(ok.headers.get('vary')).toMatch(/origin/i);

    const denied = await withOrigins.app.request(scoreFrom(ALLOWED));
    expect(denied.status).toBe(401);
    expect(denied.headers.get('access-control-allow-origin')).toBe(ALLOWED);
  });

  it('gives another origin no CORS headers, and refuses its preflight naming the setting', async () => {
    const res = await withOrigins.app.request(preflight(OTHER));
    expect(res.status).toBe(403);
    expect(((await res.json()) as any).error.message).toContain('cors.allowedOrigins');
    for (const [name] of res.headers) expect(name).not.toMatch(/^access-control-/);

    const post = await withOrigins.app.request(scoreFrom(OTHER, key));
    expect(post.status).toBe(200);
    for (const [name] of post.headers) expect(name).not.toMatch(/^access-control-/);
  });

  it('allows no origin by default', async () => {
    const res = await byDefault.app.request(preflight(ALLOWED));
    expect(res.status).toBe(403);
    for (const [name] of res.headers) expect(name).not.toMatch(/^access-control-/);
  });

  it('leaves requests without an Origin alone', async () => {
    const res = await withOrigins.app.request('/v1/models');
    expect(res.status).toBe(200);
    for (const [name] of res.headers) expect(name).not.toMatch(/^access-control-/);
  });

  it('takes only exact origins in the configuration', () => {
    const models = [{ name: 'm', backends: ['http://127.0.0.1:1'] }];
    for (const bad of ['https://app.example.com/', 'app.example.com', 'https://a.example/x', '*']) {
      expect(() => parseConfig({ models, cors: { allowedOrigins: [bad] } })).toThrow(
        /cors\.allowedOrigins\.0: use an origin/,
      );
    }
    expect(parseConfig({ models }).cors.allowedOrigins).toEqual([]);
  });
});
