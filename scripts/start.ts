/**
 * @module
 * `npm start`: the whole service on a laptop. Trains or loads the four local models, serves each behind the
 * vLLM API on loopback, starts the controller on PORT (default 8000) with a local key file, and prints a curl
 * that works. Ctrl-C stops everything.
 *
 * Environment: PORT, HOST (default 127.0.0.1), EP_DEV_API_KEY (use this key instead of a fresh one),
 * EP_LOCAL_LM_CACHE (trained model cache), EP_LOG_LEVEL (default warn).
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { KeyAdmin, KeyAdminError } from '../controller/auth/key-admin.ts';
import { openKeyStore } from '../controller/auth/stores/open-key-store.ts';
import { parseConfig } from '../controller/config.ts';
import { startController } from '../controller/main.ts';
import { createLogger } from '../controller/observability/logger.ts';
import { ControllerMetrics } from '../controller/observability/metrics.ts';
import { startLocalFleet } from '../images/local-lm/index.ts';

const DEV_KEY_NAME = 'npm-start';

/** Puts the dev key in the local store (replacing earlier dev keys) and returns the key to print. */
async function provisionDevKey(storePath: string, presetKey: string | undefined): Promise<string> {
  const admin = new KeyAdmin(openKeyStore(`file:${storePath}`, { create: true }));
  try {
    return (await admin.provision(DEV_KEY_NAME, presetKey)).key;
  } catch (err) {
    if (err instanceof KeyAdminError && err.code === 'MALFORMED_KEY') {
      throw new Error(
        'EP_DEV_API_KEY is not a well-formed key; create one with `npm run keys -- create`',
      );
    }
    throw err;
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const port = Number(process.env.PORT ?? 8000);
  const host = process.env.HOST ?? '127.0.0.1';
  const cacheDir = resolve('.cache');
  mkdirSync(cacheDir, { recursive: true });
  const keyStorePath = resolve(cacheDir, 'dev-keys.json');

  console.log('Loading the four local language models (the first start trains them)…');
  const fleet = await startLocalFleet({ host: '127.0.0.1' });
  const key = await provisionDevKey(keyStorePath, process.env.EP_DEV_API_KEY);
  const config = parseConfig({
    host,
    port,
    logLevel: process.env.EP_LOG_LEVEL ?? 'warn',
    models: fleet.servers.map((s) => ({ name: s.servedName, backends: [s.url] })),
    auth: { store: `file:${keyStorePath}`, reloadMs: 5_000 },
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
  Models    ${fleet.servers.map((s) => `${s.servedName} → ${s.url}`).join('\n            ')}
  API key   ${key}
            (stored hashed in ${keyStorePath}; manage keys with npm run keys -- list --store file:${keyStorePath})

Try it:

  curl -s ${url}/v1/perplexity \\
    -H 'Authorization: Bearer ${key}' \\
    -H 'Content-Type: application/json' \\
    -d '{"texts": ["The ship sailed across the sea at dawn.", "dawn sea the across at ship sailed The."]}'

Press Ctrl-C to stop.`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping…`);
    await controller.close();
    await fleet.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
