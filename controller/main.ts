/**
 * @module
 * Process entry: loads the configuration, starts the controller (`api/server.ts`) and shuts down gracefully on
 * SIGTERM/SIGINT (stop accepting, let in-flight requests finish within `shutdownMs`, then exit).
 */
import { pathToFileURL } from 'node:url';
import { startController } from './api/server.ts';
import { loadConfig } from './config.ts';
import { createLogger } from './observability/logger.ts';
import { ControllerMetrics } from './observability/metrics.ts';

export { startController } from './api/server.ts';
export type { RunningController, StartOptions } from './api/server.ts';

/** Runs the controller as a process: `EP_CONFIG=host-config.json node controller.mjs`. */
export async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const running = await startController(config, { logger, metrics: new ControllerMetrics() });
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
