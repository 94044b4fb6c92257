/**
 * The web pages over HTTP: the docs page and the playground come with their own scripts and styles, a CSP that
 * allows no other origin, validators and compression; nothing refers to another origin.
 */
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningController } from '../../../controller/main.ts';
import { WEB_ASSETS } from '../../../controller/web/manifest.ts';
import { startTestController } from '../../helpers/controller.ts';
import { startFakeVllm } from '../../helpers/fake-vllm.ts';
import type { FakeVllm } from '../../helpers/fake-vllm.ts';

describe('web pages and assets', () => {
  let backend: FakeVllm;
  let controller: RunningController;
  beforeAll(async () => {
    backend = await startFakeVllm();
    controller = await startTestController({ models: [{ name: 'm', backends: [backend.url] }] });
  });
  afterAll(async () => {
    await controller?.close();
    await backend?.close();
  });

  it.each(['/', '/playground'])(
    'serves %s as HTML with a CSP that allows only this origin',
    async (path) => {
      const res = await fetch(`${controller.url}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("connect-src 'self'");
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
      const html = await res.text();
      // Every script and stylesheet is a relative URL on this server; no inline script.
      const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string);
      expect(refs.filter((r) => /^(https?:)?\/\//.test(r))).toEqual([]);
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      for (const ref of refs.filter((r) => r.startsWith('assets/'))) {
        const asset = await fetch(new URL(ref, `${controller.url}${path}`));
        expect(asset.status, ref).toBe(200);
      }
    },
  );

  it('links the playground from the docs page and the docs from the playground', async () => {
    expect(await (await fetch(`${controller.url}/`)).text()).toContain('href="playground"');
    expect(await (await fetch(`${controller.url}/playground`)).text()).toContain('href="./"');
  });

  it('serves every manifest entry, gzipped on request, with an ETag that answers 304', async () => {
    for (const entry of WEB_ASSETS) {
      const plain = await fetch(`${controller.url}${entry.path}`, {
        headers: { 'accept-encoding': 'identity' },
      });
      expect(plain.status, entry.path).toBe(200);
      expect(plain.headers.get('content-type')).toBe(entry.contentType);
      expect(plain.headers.get('cache-control')).toBe('no-cache');
      const body = Buffer.from(await plain.arrayBuffer());
      expect(body.length).toBeGreaterThan(0);
      const etag = plain.headers.get('etag') as string;
      expect(etag).toMatch(/^"[\w-]+"$/);
      const again = await fetch(`${controller.url}${entry.path}`, {
        headers: { 'if-none-match': etag },
      });
      expect(again.status).toBe(304);
      // fetch() would decompress on its own; undici's raw request shows the wire.
      const { request } = await import('undici');
      const gz = await request(`${controller.url}${entry.path}`, {
        headers: { 'accept-encoding': 'gzip' },
      });
      expect(gz.headers['content-encoding']).toBe('gzip');
      expect(gunzipSync(Buffer.from(await gz.body.arrayBuffer())).equals(body)).toBe(true);
    }
  });

  it('serves Swagger UI from the installed package, without its source map comment', async () => {
    const js = await (
      await fetch(`${controller.url}/assets/swagger-ui/swagger-ui-bundle.js`)
    ).text();
    expect(js).toContain('SwaggerUIBundle');
    expect(js).not.toContain('sourceMappingURL');
  });

  it('sends the browser from /favicon.ico to the icon, and 404s unknown assets as JSON', async () => {
    const ico = await fetch(`${controller.url}/favicon.ico`, { redirect: 'manual' });
    expect(ico.status).toBe(301);
    expect(
      new URL(ico.headers.get('location') as string, `${controller.url}/favicon.ico`).pathname,
    ).toBe('/favicon.svg');
    const icon = await fetch(`${controller.url}/favicon.svg`);
    expect(icon.headers.get('content-type')).toBe('image/svg+xml');
    const missing = await fetch(`${controller.url}/assets/nope.js`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as any).error.type).toBe('not_found');
  });

  it('answers HEAD without a body', async () => {
    const res = await fetch(`${controller.url}/playground`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
  });
});
