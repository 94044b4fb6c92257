/**
 * @module
 * The web pages: the API docs (Swagger UI) at `/`, the playground at `/playground`, and their scripts, styles and
 * icon under `/assets/` and `/favicon.svg`. Everything comes from the controller's own asset table, with a
 * Content-Security-Policy that allows no other origin. Open routes: the pages ask for a key themselves.
 */
import type { Context } from 'hono';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { webAssets } from '../../web/assets.ts';
import { WEB_PAGE_CSP } from '../../web/csp.ts';
import { DOCS_PAGE, FAVICON, PLAYGROUND_PAGE } from '../../web/manifest.ts';
import { errorBody } from '../errors.ts';

export function registerWebRoutes(app: OpenAPIHono): void {
  app.get(DOCS_PAGE, (c) => serveAsset(c, DOCS_PAGE));
  app.get(PLAYGROUND_PAGE, (c) => serveAsset(c, PLAYGROUND_PAGE));
  app.get(`${PLAYGROUND_PAGE}/`, (c) => c.redirect('../playground', 301));
  app.get('/assets/*', (c) => serveAsset(c, c.req.path));
  app.get(FAVICON, (c) => serveAsset(c, FAVICON));
  // Browsers ask for /favicon.ico on their own; send them to the icon there is instead of logging a 404.
  app.get('/favicon.ico', (c) => c.redirect('favicon.svg', 301));
}

async function serveAsset(c: Context, path: string): Promise<Response> {
  const asset = (await webAssets()).get(path);
  if (!asset) return c.json(errorBody('not_found', `no route GET ${c.req.path}`), 404);
  c.header('content-type', asset.contentType);
  c.header('content-security-policy', WEB_PAGE_CSP);
  // Revalidate every time: a new deploy changes the files behind the same URLs.
  c.header('cache-control', 'no-cache');
  c.header('etag', asset.etag);
  c.header('vary', 'accept-encoding');
  if (c.req.header('if-none-match') === asset.etag) return c.body(null, 304);
  if (/\bgzip\b/.test(c.req.header('accept-encoding') ?? '')) {
    c.header('content-encoding', 'gzip');
    return c.body(asset.gzip as Uint8Array<ArrayBuffer>, 200);
  }
  return c.body(asset.body, 200);
}
