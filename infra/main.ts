/**
 * @module
 * The CDKTF app (`cdktf.json` "app"): reads and validates the settings from the cdktf.json context, builds the
 * controller bundle, and synthesizes one stack named after the deployment into `cdktf.out/`. Running it directly
 * (`tsx infra/main.ts`) writes the same output without the cdktf CLI.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App } from 'cdktf';
import { SettingsError, type Settings } from './config.ts';
import { loadSettings, REPO_ROOT } from './context.ts';
import { PerplexityStack } from './stack.ts';

/** What scripts/build-bundle.ts exports (owned by the controller packaging work). */
interface BundleBuilder {
  buildControllerBundle(opts: { entry: string; outFile: string }): Promise<unknown> | unknown;
}

/** The bundle to upload: `controllerBundle` from the settings, else a fresh build of controller/main.ts. */
export async function resolveControllerBundle(
  settings: Settings,
  root = REPO_ROOT,
): Promise<{ path: string; sha256?: string }> {
  if (settings.controllerBundle) {
    const path = resolve(root, settings.controllerBundle);
    if (!existsSync(path)) throw new SettingsError(`controllerBundle: ${path} does not exist`);
    return { path };
  }
  const builderPath = resolve(root, 'scripts/build-bundle.ts');
  if (!existsSync(builderPath)) {
    throw new SettingsError(
      'no controller bundle: scripts/build-bundle.ts is missing; build one and set "controllerBundle" in the ' +
        'cdktf.json context to its path',
    );
  }
  const builder = (await import(pathToFileURL(builderPath).href)) as BundleBuilder;
  const outFile = resolve(root, 'dist/controller.mjs');
  const result = await builder.buildControllerBundle({
    entry: resolve(root, 'controller/main.ts'),
    outFile,
  });
  const sha256 = (result as { sha256?: unknown } | undefined)?.sha256;
  return { path: outFile, ...(typeof sha256 === 'string' ? { sha256 } : {}) };
}

async function main(): Promise<void> {
  const settings = loadSettings();
  const bundle = await resolveControllerBundle(settings);
  const app = new App();
  new PerplexityStack(app, {
    settings,
    controllerBundlePath: bundle.path,
    ...(bundle.sha256 ? { controllerBundleSha256: bundle.sha256 } : {}),
  });
  app.synth();
}

try {
  await main();
} catch (err) {
  if (err instanceof SettingsError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}
