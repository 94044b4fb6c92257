/**
 * @module
 * `requestMetrics(metrics)`: the Hono middleware (pass it as `StartOptions.instrument`) that records every
 * request's duration by route pattern and status, and each scoring request's texts and tokens by key id as they
 * complete. A streamed response is timed until its last line, not until its headers.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { ControllerMetrics } from '../../observability/metrics.ts';
import { CLIENT_CLOSED_STATUS } from '../errors.ts';
import { scoringTally } from '../request-context.ts';

/** Route label of requests no route matched (404 scans): one series, whatever the paths. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Creates the request metrics middleware.
 * @example
 * const metrics = new ControllerMetrics();
 * await startController(config, { instrument: requestMetrics(metrics), observer: metrics });
 */
export function requestMetrics(metrics: ControllerMetrics): MiddlewareHandler {
  return async function requestMetrics(c, next) {
    const start = performance.now();
    const tally = scoringTally(c);
    // Texts and tokens are counted per request: a stream reports each text as it lands, a whole response
    // everything once at the end. The key id is read late: the auth middleware runs after this one.
    tally.onStreamText((tokensByModel) => metrics.textsScored(c.get('keyId'), 1, tokensByModel));
    await next();
    if (!tally.stream) metrics.textsScored(c.get('keyId'), tally.texts, tally.tokensByModel);
    const route = routeLabel(c);
    if (tally.active) metrics.scoringRequest(c.get('keyId'), route);
    const status = c.res.status;
    if (tally.stream) {
      metrics.streamStarted();
      void tally.finished.then(() => {
        metrics.streamEnded(tally.error !== undefined);
        if (tally.degraded) metrics.degradedResponse(route);
        const final = tally.clientClosed ? CLIENT_CLOSED_STATUS : status;
        metrics.requestDone(c.req.method, route, final, (performance.now() - start) / 1000);
      });
      return;
    }
    if (tally.degraded) metrics.degradedResponse(route);
    metrics.requestDone(c.req.method, route, status, (performance.now() - start) / 1000);
  };
}

/**
 * The pattern of the route that handled the request (`/v1/perplexity`, never the raw path). Middleware is
 * registered with `app.use` (method ALL); the handler is the last matched route with a real method.
 */
export function routeLabel(c: Context): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    const r = routes[i];
    if (r && r.method !== 'ALL') return r.path;
  }
  return UNMATCHED_ROUTE;
}
