/**
 * @module
 * The local stack for the Python client's tests, in its own process: the four local models (with fault
 * controls), and the controller on a free loopback port with a temporary key store. Prints one JSON line with
 * what the tests need, then serves until stdin closes or SIGTERM.
 *
 * Keys: `key` (default limits) and `limited_key` (60 requests per minute, so the 61st request in a burst gets 429
 * with `Retry-After: 1`). Limits: `maxBodyBytes` 64 KiB, so a large plain request gets 413.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../../controller/config.ts';
import { startController } from '../../../controller/main.ts';
import { createLogger } from '../../../controller/observability/logger.ts';
import { startLocalFleet } from '../../../images/local-lm/index.ts';
import { writeKeyStoreFile } from '../../helpers/key-store-file.ts';

export const STACK_MAX_BODY_BYTES = 64 * 1024;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ep-python-stack-'));
  const {
    store,
    keys: [main, limited],
  } = writeKeyStoreFile(dir, [
    'python-tests',
    { name: 'python-tests-limited', limits: { requestsPerMinute: 60 } },
  ]);
  const fleet = await startLocalFleet({ host: '127.0.0.1', controls: true });
  const config = parseConfig({
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    models: fleet.servers.map((s) => ({ name: s.servedName, backends: [s.url] })),
    auth: { store },
    limits: { maxBodyBytes: STACK_MAX_BODY_BYTES },
    // Quick probes: a backend ejected by a fault test is readmitted within a second of the fault's end.
    health: {
      probeIntervalMs: 200,
      probeTimeoutMs: 1_000,
      failuresToEject: 1,
      successesToReadmit: 1,
    },
  });
  const controller = await startController(config, { logger: createLogger('silent') });
  console.log(
    JSON.stringify({
      url: controller.url,
      key: main!.key,
      limited_key: limited!.key,
      max_body_bytes: STACK_MAX_BODY_BYTES,
      backends: Object.fromEntries(fleet.servers.map((s) => [s.servedName, s.url])),
    }),
  );

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await controller.close();
    await fleet.close();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  };
  process.stdin.on('end', () => void stop());
  process.stdin.resume();
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
