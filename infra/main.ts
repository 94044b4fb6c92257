/**
 * @module
 * The CDKTF app (`cdktf.json` "app"): reads and validates the settings from the cdktf.json context, builds the
 * controller bundle, and synthesizes one stack named after the deployment into `cdktf.out/`. Running it directly
 * (`tsx infra/main.ts`) writes the same output without the cdktf CLI.
 */
import { App } from 'cdktf';
import { resolveControllerBundle } from './bundle.ts';
import { SettingsError } from './config.ts';
import { loadSettings } from './context.ts';
import { PerplexityStack } from './stack.ts';

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
