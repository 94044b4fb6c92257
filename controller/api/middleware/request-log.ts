/**
 * @module
 * One JSON log line per request: request id, method, route pattern, status, duration and the caller's key id,
 * plus for scoring requests the text count, tokens scored (per model too), and whether it was degraded or
 * streamed. Never a body, a text, a query string or a key. A stream is logged when its last line is written.
 */
import type { MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import { CLIENT_CLOSED_STATUS } from '../errors.ts';
import { existingScoringTally } from '../request-context.ts';
import { routeLabel } from './request-metrics.ts';

export function requestLog(logger: Logger): MiddlewareHandler {
  return async function requestLog(c, next) {
    const start = performance.now();
    await next();
    const write = () => {
      const ms = Math.round((performance.now() - start) * 10) / 10;
      const tally = existingScoringTally(c);
      const status = tally?.clientClosed ? CLIENT_CLOSED_STATUS : c.res.status;
      const entry: Record<string, unknown> = {
        requestId: c.get('requestId'),
        method: c.req.method,
        route: routeLabel(c),
        status,
        ms,
        keyId: c.get('keyId'),
      };
      if (tally?.active) {
        // Not "texts": the logger redacts that name wherever it appears, as a guard against logging the texts.
        entry.textCount = tally.texts;
        entry.tokens = tally.tokens;
        entry.tokensByModel = Object.fromEntries(tally.tokensByModel);
        entry.degraded = tally.degraded;
        if (tally.stream) entry.stream = true;
        if (tally.error) entry.streamError = tally.error;
      }
      if (status >= 500) logger.error(entry, 'request failed');
      else if (tally?.error) logger.warn(entry, 'stream ended early');
      else logger.info(entry, 'request');
    };
    const tally = existingScoringTally(c);
    if (tally?.stream) void tally.finished.then(write);
    else write();
  };
}
