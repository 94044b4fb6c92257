/**
 * @module
 * The controller's web pages and their scripts, styles and icon, as one table keyed by URL path. The pages are
 * served from this table only: nothing is fetched from another origin, so they work offline and behind any proxy.
 */
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { loadWebAssetSources } from './load-sources.ts';
import type { WebAssetSource } from './manifest.ts';

/** A file ready to serve. */
export interface WebAsset extends WebAssetSource {
  /** Strong validator: the body's SHA-256, quoted. */
  readonly etag: string;
  /** The body gzipped once, for clients that accept it (CloudFront here forwards without compressing). */
  readonly gzip: Uint8Array;
}

export type WebAssets = ReadonlyMap<string, WebAsset>;

let loading: Promise<WebAssets> | undefined;

/** The asset table, built on first use and then shared (sources compile once per process). */
export function webAssets(): Promise<WebAssets> {
  loading ??= loadWebAssetSources().then(toAssets);
  // A failed build is not cached: the next request tries again (and reports the error again).
  loading.catch(() => (loading = undefined));
  return loading;
}

const gzipAsync = promisify(gzip);

async function toAssets(sources: readonly WebAssetSource[]): Promise<WebAssets> {
  // Compressed once, off the event loop (Swagger UI's bundle is 1.7 MB).
  const assets = await Promise.all(
    sources.map(async (s): Promise<WebAsset> => ({
      ...s,
      etag: `"${createHash('sha256').update(s.body).digest('base64url').slice(0, 27)}"`,
      gzip: await gzipAsync(s.body),
    })),
  );
  return new Map(assets.map((a) => [a.path, a]));
}
