/**
 * @module
 * Process entry: loads the configuration, discovers the backends, serves the app, and shuts down gracefully on
 * SIGTERM/SIGINT (stop accepting, let in-flight requests finish within `shutdownMs`, then exit).
 * `startController` is the same path for tests and the local launcher.
 */
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { pathToFileURL } from 'node:url';
import { serve } from '@hono/node-server';
import type { MiddlewareHandler } from 'hono';
import { createApp } from './app.ts';
import { CalibrationSource } from './calibration/calibration-source.ts';
import { startAuthentication } from './authentication.ts';
import { loadConfig } from './config.ts';
import type { ControllerConfig } from './config.ts';
import { requestMetrics } from './observability/http-metrics.ts';
import { createLogger } from './observability/logger.ts';
import { ControllerMetrics } from './observability/metrics.ts';
import type { Logger } from './observability/logger.ts';
import type { SchedulerObserver } from './observability/observer.ts';
import { ModelRegistry } from './scheduler/model-registry.ts';

export interface StartOptions {
  /** @default - JSON logs to stdout at the configured level */
  readonly logger?: Logger;
  /** Authentication for scoring routes. @default - built from `config.auth` (see authentication.ts) */
  readonly authenticate?: MiddlewareHandler;
  /** Request instrumentation (metrics). @default - `requestMetrics(metrics)` when `metrics` is given, else none */
  readonly instrument?: MiddlewareHandler;
  /** Prometheus metrics, served at `GET /metrics` and fed by the requests. @default - none (no /metrics) */
  readonly metrics?: ControllerMetrics;
  /**
   * Receives scheduler and backend events (batches, queue depth, backend state, cache).
   * @default - `metrics` when given, else NOOP_OBSERVER
   */
  readonly observer?: SchedulerObserver;
}

export interface RunningController {
  readonly url: string;
  readonly port: number;
  readonly registry: ModelRegistry;
  /** The calibration in force; `use()` installs one made in-process (the local stack). */
  readonly calibration: CalibrationSource;
  readonly server: Server;
  /** Stops accepting, waits for in-flight requests (up to `shutdownMs`), closes backend pools. */
  close(): Promise<void>;
}

export async function startController(
  config: ControllerConfig,
  options: StartOptions = {},
): Promise<RunningController> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const observer = options.observer ?? options.metrics;
  const registry = new ModelRegistry(config, logger, observer ? { observer } : {});
  const auth = options.authenticate ? undefined : await startAuthentication(config, logger);
  const authenticate = options.authenticate ?? auth?.authenticate;
  const instrument =
    options.instrument ?? (options.metrics ? requestMetrics(options.metrics) : undefined);
  const calibration = new CalibrationSource({
    ...(config.calibration.path ? { path: config.calibration.path } : {}),
    reloadMs: config.calibration.reloadMs,
    fingerprints: () => registry.fingerprints(),
    logger,
  });
  const app = createApp({
    config,
    registry,
    calibration,
    logger,
    ...(authenticate ? { authenticate } : {}),
    ...(instrument ? { instrument } : {}),
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(auth?.keyRing ? { keysLoaded: () => auth.keyRing?.ready ?? true } : {}),
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () =>
      resolve(s as Server),
    );
    (s as Server).once('error', reject);
  });
  // Node's default 300 s request timeout would cut long scoring requests; the request deadline governs instead.
  server.requestTimeout = config.timeouts.maxRequestMs + 10_000;
  server.headersTimeout = 30_000;
  // Longer than a load balancer's idle timeout (ALB: 60 s by default), so the balancer closes first.
  server.keepAliveTimeout = 75_000;
  const port = (server.address() as AddressInfo).port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  logger.info({ url, models: registry.names }, 'controller listening');
  await registry.start();
  await calibration.start();

  // Responses still being produced when shutdown starts tell their clients not to reuse the connection.
  const open = new Set<ServerResponse>();
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    open.add(res);
    res.once('close', () => open.delete(res));
  });
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      for (const res of open) if (!res.headersSent) res.setHeader('connection', 'close');
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive sockets that go idle while draining would hold close() open until they time out.
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      const timer = setTimeout(() => server.closeAllConnections(), config.timeouts.shutdownMs);
      await drained;
      clearInterval(sweep);
      clearTimeout(timer);
      auth?.stop();
      calibration.stop();
      await registry.close();
    })());
  return { url, port, registry, calibration, server, close };
}

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
