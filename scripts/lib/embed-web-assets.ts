/**
 * @module
 * An esbuild plugin for the controller bundle: compiles the web pages' assets (controller/web/compile.ts) and
 * puts them in the bundle in place of the module that would compile them at run time, so the deployed
 * controller serves its pages with no sources, no esbuild and no node_modules beside it.
 */
import type { Plugin } from 'esbuild';
import { compileWebAssets } from '../../controller/web/compile.ts';

/** The module the bundle replaces: it compiles on first use when the controller runs from its sources. */
const RUNTIME_LOADER = /[\\/]controller[\\/]web[\\/]load-sources\.ts$/;

export function embedWebAssets(): Plugin {
  return {
    name: 'embed-web-assets',
    setup(build) {
      build.onLoad({ filter: RUNTIME_LOADER }, async () => {
        const assets = await compileWebAssets();
        return {
          loader: 'js',
          contents: [
            '// Compiled by scripts/lib/embed-web-assets.ts at `npm run build`.',
            `const ASSETS = ${JSON.stringify(assets)};`,
            'export async function loadWebAssetSources() { return ASSETS; }',
          ].join('\n'),
        };
      });
    },
  };
}
