/**
 * @module
 * Where the web assets come from when the controller runs from its sources (`npm start`, tests): compiled on
 * first use. `npm run build` replaces this module in the bundle with one that holds the compiled assets, so the
 * deployed controller needs neither the sources nor node_modules (scripts/lib/embed-web-assets.ts).
 */

import type { WebAssetSource } from './manifest.ts';

export async function loadWebAssetSources(): Promise<readonly WebAssetSource[]> {
  const { compileWebAssets } = await import('./compile.ts');
  return compileWebAssets();
}
