/**
 * @module
 * `startController`: builds the registry, authentication and app, serves it, and returns a handle whose `close()`
 * shuts down gracefully (stop accepting, let in-flight requests finish within `shutdownMs`). The process entry
 * (`main.ts`), the tests and the local launcher all start the controller this way.
 */
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { serve } from '@hono/node-server';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { startAuthentication } from '../auth/authentication.ts';
import { CalibrationSource } from '../calibration/calibration-source.ts';
import { SelfCalibration } from '../calibration/self-calibration.ts';
import type { ControllerConfig } from '../config.ts';
import { ModelRegistry } from '../models/model-registry.ts';
import { createLogger } from '../observability/logger.ts';
import type { Logger } from '../observability/logger.ts';
import type { ControllerMetrics } from '../observability/metrics.ts';
import type { SchedulerObserver } from '../observability/observer.ts';
import { createApp } from './app.ts';
import { answerParserErrors } from './http/parser-errors.ts';
import { limitConnections, serverOptions } from './http/socket-limits.ts';
import { forwardedClientAddress, gateMiddleware } from './middleware/api-key-auth.ts';
import { requestMetrics } from './middleware/request-metrics.ts';

export interface StartOptions {
  /** @default - JSON logs to stdout at the configured level */
  readonly logger?: Logger;
  /** Authentication for scoring routes. @default - built from `config.auth` (see auth/authentication.ts) */
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
  /** Makes the calibration file when none is in force (`calibration.makeIfMissing`); else undefined. */
  readonly selfCalibration: SelfCalibration | undefined;
  readonly server: Server;
  /** Stops accepting, waits for in-flight requests (up to `shutdownMs`), closes backend pools. */
  close(): Promise<void>;
}

/** The controller's parts before it serves: the app answers `app.request()` without a socket. */
export interface AssembledController {
  readonly app: OpenAPIHono;
  readonly registry: ModelRegistry;
  /** Reads `calibration.path` once `start()`ed. */
  readonly calibration: CalibrationSource;
  /** Makes the calibration file once `start()`ed (`calibration.makeIfMissing` with a path); else undefined. */
  readonly selfCalibration: SelfCalibration | undefined;
  /** Stops reloading keys and the calibration file, and closes the backend pools. */
  close(): Promise<void>;
}

/**
 * Builds the registry, authentication (loading the key set once) and the app, without listening or discovering
 * backends (`registry.start()` does that).
 */
export async function assembleController(
  config: ControllerConfig,
  options: StartOptions = {},
): Promise<AssembledController> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const observer = options.observer ?? options.metrics;
  const registry = new ModelRegistry(config, logger, observer ? { observer } : {});
  const auth = options.authenticate ? undefined : await startAuthentication(config, logger);
  const authenticate =
    options.authenticate ?? (auth ? gateMiddleware(auth.gate, clientAddress(config)) : undefined);
  const instrument =
    options.instrument ?? (options.metrics ? requestMetrics(options.metrics) : undefined);
  const calibration = new CalibrationSource({
    ...(config.calibration.path ? { path: config.calibration.path } : {}),
    reloadMs: config.calibration.reloadMs,
    fingerprints: () => registry.fingerprints(),
    logger,
  });
  const selfCalibration = selfCalibrationFor(config, calibration, registry, logger);
  const app = createApp({
    config,
    registry,
    calibration,
    ...(selfCalibration ? { selfCalibration } : {}),
    logger,
    ...(authenticate ? { authenticate } : {}),
    ...(instrument ? { instrument } : {}),
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(auth?.keyRing ? { keysLoaded: () => auth.keyRing?.ready ?? true } : {}),
  });
  return {
    app,
    registry,
    calibration,
    selfCalibration,
    async close() {
      auth?.stop();
      await selfCalibration?.stop();
      calibration.stop();
      await registry.close();
    },
  };
}

export async function startController(
  config: ControllerConfig,
  options: StartOptions = {},
): Promise<RunningController> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const {
    app,
    registry,
    calibration,
    selfCalibration,
    close: closeParts,
  } = await assembleController(config, {
    ...options,
    logger,
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve(
      {
        fetch: app.fetch,
        port: config.port,
        hostname: config.host,
        serverOptions: serverOptions(config),
      },
      () => resolve(s as Server),
    );
    (s as Server).once('error', reject);
  });
  answerParserErrors(server, logger);
  const budget = limitConnections(server, config, logger);
  const port = (server.address() as AddressInfo).port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  logger.info(
    {
      url,
      models: registry.names,
      maxConnections: budget.maxConnections,
      openFileLimit: budget.openFileLimit,
    },
    'controller listening',
  );
  await registry.start();
  await calibration.start();
  selfCalibration?.start();

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
      await closeParts();
    })());
  return { url, port, registry, calibration, selfCalibration, server, close };
}

function selfCalibrationFor(
  config: ControllerConfig,
  source: CalibrationSource,
  registry: ModelRegistry,
  logger: Logger,
): SelfCalibration | undefined {
  const { path, makeIfMissing, maxTexts } = config.calibration;
  if (!makeIfMissing) return undefined;
  if (!path) {
    logger.warn('calibration.makeIfMissing needs calibration.path; no calibration will be made');
    return undefined;
  }
  return new SelfCalibration({
    path,
    source,
    registry,
    logger,
    ...(maxTexts !== undefined ? { maxTexts } : {}),
  });
}

/** Behind `auth.trustedProxies` proxies the client is named by `X-Forwarded-For`, else by the TCP peer. */
function clientAddress(config: ControllerConfig) {
  const { trustedProxies } = config.auth;
  return trustedProxies > 0 ? forwardedClientAddress({ trustedProxies }) : undefined;
}
