/**
 * @module
 * Composes the HTTP app: middleware (request id, body limit, logging, auth), the routes, the OpenAPI document
 * and the web pages (docs, playground). No I/O happens here; `server.ts` owns the server and the backends,
 * `main.ts` the process.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import type { Logger } from 'pino';
import { CalibrationSource } from '../calibration/calibration-source.ts';
import type { SelfCalibration } from '../calibration/self-calibration.ts';
import type { ControllerConfig } from '../config.ts';
import type { ModelRegistry } from '../models/model-registry.ts';
import type { ControllerMetrics } from '../observability/metrics.ts';
import { errorBody, issueField, sendError } from './errors.ts';
import { boundedBody } from './middleware/bounded-body.ts';
import { closeUnreadBody } from './middleware/close-unread-body.ts';
import { corsPolicy } from './middleware/cors.ts';
import { requestLog } from './middleware/request-log.ts';
import { registerCalibrationRoute } from './routes/calibration.ts';
import { registerLegacyRoutes } from './routes/legacy.ts';
import { registerMetricsRoute } from './routes/metrics.ts';
import { registerPerplexityRoute } from './routes/perplexity.ts';
import { registerStatusRoutes } from './routes/status.ts';
import { ScoringService } from './routes/scoring-service.ts';
import { registerWebRoutes } from './routes/web.ts';
import { StreamSlots } from './stream-slots.ts';

export interface AppDependencies {
  readonly config: ControllerConfig;
  readonly registry: ModelRegistry;
  readonly logger: Logger;
  /** The calibration in force. @default - none (percentiles are null; spans and flags are refused) */
  readonly calibration?: CalibrationSource;
  /** Makes the calibration when none is in force; its progress shows at `GET /v1/calibration`. @default - none */
  readonly selfCalibration?: SelfCalibration;
  /**
   * Authentication for the scoring routes (`api/middleware/api-key-auth.ts`).
   * @default - none: every caller may score (local experiments only)
   */
  readonly authenticate?: MiddlewareHandler;
  /** Extra middleware run first on every request (metrics). @default - none */
  readonly instrument?: MiddlewareHandler;
  /** Served at `GET /metrics`, behind `authenticate` when `auth.metricsRequireKey`. @default - no metrics route */
  readonly metrics?: ControllerMetrics;
  /** Whether the API key set is loaded (part of `/readyz`). @default - always true */
  readonly keysLoaded?: () => boolean;
}

/** Paths that need an API key. */
export const SCORING_PATHS = ['/v1/perplexity', '/ensemble_perplexity'] as const;

export function createApp(deps: AppDependencies): OpenAPIHono {
  const { config, registry, logger } = deps;
  const app = new OpenAPIHono({
    defaultHook: (result, c) => {
      if (result.success) return;
      const issue = result.error.issues[0];
      const param = issue ? issueField(issue) : '(body)';
      const message = issue ? `${param}: ${issue.message}` : 'invalid request';
      return c.json(errorBody('invalid_request', message, param), 400);
    },
  });

  if (deps.instrument) app.use('*', deps.instrument);
  app.use('*', requestId());
  app.use('*', requestLog(logger));
  // Before authentication: a browser's preflight carries no key.
  app.use('*', corsPolicy({ allowedOrigins: config.cors.allowedOrigins }));
  app.use(
    '*',
    secureHeaders({ crossOriginEmbedderPolicy: false, contentSecurityPolicy: undefined }),
  );
  app.use('*', closeUnreadBody);
  const streamMaxBytes = Math.max(config.limits.maxBodyBytes, config.limits.maxStreamBodyBytes);
  const readBody = boundedBody({
    // A streamed scoring job may be far larger. The cap is picked from the headers, so a client asks for it with
    // `Accept: application/x-ndjson`; the route holds non-streamed requests to maxBodyBytes.
    maxBytes: (c) =>
      c.req.path === '/v1/perplexity' && /application\/x-ndjson/i.test(c.req.header('accept') ?? '')
        ? streamMaxBytes
        : config.limits.maxBodyBytes,
    // A plain request over the limit learns that a stream takes more.
    streamMaxBytes: (c) => (c.req.path === '/v1/perplexity' ? streamMaxBytes : undefined),
    idleMs: config.server.bodyIdleMs,
  });
  // The auth middleware also refuses keys sent in the URL (they end up in logs and browser history).
  // `legacy.openAccess` (loopback only, checked by the config) serves the earlier service's route without a key.
  // The key is checked from the headers before a byte of the body is read: a caller without a key costs no memory.
  for (const path of SCORING_PATHS) {
    const open = config.legacy.openAccess && path === '/ensemble_perplexity';
    if (deps.authenticate && !open) app.use(path, deps.authenticate);
    app.use(path, readBody);
  }

  const calibration =
    deps.calibration ??
    new CalibrationSource({
      reloadMs: 60_000,
      fingerprints: () => registry.fingerprints(),
      logger,
    });
  const scoring = new ScoringService(config, registry, calibration);
  const streams = new StreamSlots({
    total: config.limits.maxConcurrentStreams,
    perKey: config.limits.maxConcurrentStreamsPerKey,
  });
  registerPerplexityRoute(app, config, scoring, streams);
  registerLegacyRoutes(app, config, scoring);
  registerStatusRoutes(app, config, registry, deps.keysLoaded);
  registerCalibrationRoute(app, calibration, () => registry.fingerprints(), deps.selfCalibration);
  if (deps.metrics) {
    if (config.auth.metricsRequireKey && deps.authenticate) app.use('/metrics', deps.authenticate);
    registerMetricsRoute(app, deps.metrics);
  }

  app.openAPIRegistry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key: `Authorization: Bearer ep_...` (see `npm run keys`).',
  });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Ensembled Perplexity',
      version: '0.1.0',
      description:
        'Scores how likely texts are under several language models and combines them into one robust ensemble score.',
    },
  });
  registerWebRoutes(app);

  // A scoring path with the wrong method is a 405 that says which method works, not a 404.
  app.on(['GET', 'PUT', 'PATCH', 'DELETE'], [...SCORING_PATHS], (c) => {
    c.header('allow', 'POST');
    return c.json(errorBody('method_not_allowed', `${c.req.path} takes POST`), 405);
  });
  app.notFound((c) =>
    c.json(errorBody('not_found', `no route ${c.req.method} ${c.req.path}`), 404),
  );
  app.onError((err, c) => {
    const response = sendError(c, err);
    if (response.status >= 500) {
      logger.error(
        {
          requestId: c.get('requestId'),
          err: { name: err.name, message: err.message, stack: err.stack },
        },
        'request error',
      );
    }
    return response;
  });
  return app;
}
