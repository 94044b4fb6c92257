/**
 * @module
 * `corsPolicy`: lets browser apps on the configured origins (`cors.allowedOrigins`) call the API. It runs before
 * authentication, because a browser's preflight (`OPTIONS`) never carries the `Authorization` header. A request
 * from any other origin gets no CORS headers at all, so the browser keeps the response from the page; a preflight
 * from such an origin is refused with 403 rather than reaching authentication and failing with a misleading 401.
 */
import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { errorBody } from '../errors.ts';

export interface CorsPolicyOptions {
  /** Exact origins (`https://app.example.com`) whose pages may call the API. @default - none */
  readonly allowedOrigins: readonly string[];
  /** How long a browser may cache a preflight answer, in seconds. @default 600 */
  readonly maxAgeSeconds?: number;
}

/** Headers a page may send: the key and the JSON body's type. */
const ALLOWED_HEADERS = ['Authorization', 'Content-Type'];
/** Headers a page may read: when to retry after a 429/503, and the id that finds the request in the logs. */
const EXPOSED_HEADERS = ['Retry-After', 'X-Request-Id'];

export function corsPolicy(options: CorsPolicyOptions): MiddlewareHandler {
  const allowed = new Set(options.allowedOrigins);
  const allow = cors({
    origin: (origin) => (allowed.has(origin) ? origin : null),
    allowMethods: ['GET', 'POST', 'OPTIONS'],
    allowHeaders: ALLOWED_HEADERS,
    exposeHeaders: EXPOSED_HEADERS,
    maxAge: options.maxAgeSeconds ?? 600,
  });
  return async function corsPolicy(c, next) {
    const origin = c.req.header('origin');
    if (origin === undefined) return next();
    if (allowed.has(origin)) return allow(c, next);
    // Responses differ by Origin, so caches between the browser and us must key on it.
    c.header('vary', 'Origin', { append: true });
    if (c.req.method === 'OPTIONS' && c.req.header('access-control-request-method')) {
      return c.json(
        errorBody('origin_not_allowed', `origin ${origin} is not in cors.allowedOrigins`),
        403,
      );
    }
    return next();
  };
}
