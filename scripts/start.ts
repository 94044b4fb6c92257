/**
 * @module
 * `npm start`: the whole service on a laptop. Trains or loads the four local models, serves each behind the
 * vLLM API on loopback, starts the controller on PORT (default 8000) with a local key file, and prints a curl
 * that works. Ctrl-C stops everything.
 *
 * Environment: PORT, HOST (default 127.0.0.1), EP_DEV_API_KEY (use this key instead of a fresh one),
 * EP_LOCAL_LM_CACHE (trained model cache), EP_LOG_LEVEL (default warn). The calibration lives in
 * .cache/calibration.json; the first start (and a start after the models changed) makes it in the background.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseConfig } from '../controller/config.ts';
import { startController } from '../controller/main.ts';
import { createLogger } from '../controller/observability/logger.ts';
import { ControllerMetrics } from '../controller/observability/metrics.ts';
import { startLocalFleet } from '../images/local-lm/index.ts';
import { provisionDevKey } from './lib/dev-key.ts';
import { StartSettingsError, checkPortFree, readStartSettings } from './lib/start-settings.ts';
import { calibrationInForce } from './lib/local-calibration.ts';

async function main(): Promise<void> {
  const started = performance.now();
  const { port, host } = readStartSettings(process.env);
  await checkPortFree({ port, host });
  const cacheDir = resolve('.cache');
  mkdirSync(cacheDir, { recursive: true });
  const keyStorePath = resolve(cacheDir, 'dev-keys.json');
  const calibrationPath = resolve(cacheDir, 'calibration.json');

  console.log('Loading the four local language models (the first start trains them)…');
  const fleet = await startLocalFleet({ host: '127.0.0.1' });
  const devKey = await provisionDevKey(keyStorePath, process.env.EP_DEV_API_KEY);
  const key = devKey.key;
  const config = parseConfig({
    host,
    port,
    logLevel: process.env.EP_LOG_LEVEL ?? 'warn',
    models: fleet.servers.map((s) => ({ name: s.servedName, backends: [s.url] })),
    auth: { store: `file:${keyStorePath}`, reloadMs: 5_000 },
    // Made by the controller itself from the reference corpus when missing or made for other models.
    calibration: { path: calibrationPath, makeIfMissing: true },
  });
  const controller = await startController(config, {
    logger: createLogger(config.logLevel),
    metrics: new ControllerMetrics(),
  });

  const url = controller.url;
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`
Ensembled Perplexity is running (ready in ${seconds} s).

  API       ${url}
  Docs      ${url}/
  Playground ${url}/playground   (paste the key below into the page)
  Models    ${fleet.servers.map((s) => `${s.servedName} → ${s.url}`).join('\n            ')}
  API key   ${key}
            (stored hashed in ${keyStorePath}; manage keys with npm run keys -- list --store file:${keyStorePath})

Try it:

  curl -s ${url}/v1/perplexity \\
    -H 'Authorization: Bearer ${key}' \\
    -H 'Content-Type: application/json' \\
    -d '{"texts": ["The ship sailed across the sea at dawn.", "dawn sea the across at ship sailed The."]}'

Press Ctrl-C to stop.`);
  calibrationInForce(controller, () =>
    console.log('No calibration for these models yet: making one from the reference corpus…'),
  ).then(
    (how) =>
      console.log(
        how === 'made'
          ? `Calibration made and in force (${calibrationPath}): percentiles and flag_fpr work now.`
          : `Calibration loaded from ${calibrationPath}.`,
      ),
    (err: unknown) =>
      console.error(
        `Calibration failed (${err instanceof Error ? err.message : String(err)}); scoring still works.`,
      ),
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping…`);
    await controller.close();
    await fleet.close();
    await devKey.release().catch(() => undefined);
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  // 2: a setting to change (the message names it); 1: anything else.
  process.exit(err instanceof StartSettingsError ? 2 : 1);
});
