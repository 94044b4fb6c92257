/**
 * @module
 * Builds the web assets from their sources (WEB_ASSETS): reads files, bundles browser scripts with esbuild and
 * copies files out of npm packages. Runs on first use in development and once at `npm run build`; the deployed
 * bundle never loads this module, so esbuild and swagger-ui-dist are build inputs (devDependencies).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { WEB_ASSETS } from './manifest.ts';
import type { AssetRecipe, WebAssetSource } from './manifest.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const require = createRequire(import.meta.url);

/** Browsers of the last few years: ES2020 syntax and native modules. */
const BROWSER_TARGET = ['chrome100', 'firefox100', 'safari15', 'edge100'];

export async function compileWebAssets(): Promise<WebAssetSource[]> {
  return Promise.all(
    WEB_ASSETS.map(async (entry) => ({
      path: entry.path,
      contentType: entry.contentType,
      body: await make(entry.from),
    })),
  );
}

async function make(recipe: AssetRecipe): Promise<string> {
  if ('file' in recipe) return readFile(`${ROOT}${recipe.file}`, 'utf8');
  if ('packageFile' in recipe) {
    const text = await readFile(require.resolve(recipe.packageFile), 'utf8');
    // Source maps are not served; without this line a browser's developer tools ask for one and get a 404.
    return text.replace(/\n?\/[*/]# sourceMappingURL=\S+\s*(\*\/)?\s*$/, '\n');
  }
  const result = await build({
    entryPoints: [`${ROOT}${recipe.script}`],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: BROWSER_TARGET,
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const out = result.outputFiles[0];
  if (!out) throw new Error(`esbuild produced no output for ${recipe.script}`);
  return out.text;
}
