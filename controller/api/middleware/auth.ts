/**
 * @module
 * `apiKeyAuth`: the Hono middleware in front of the scoring routes. It accepts keys only as
 * `Authorization: Bearer <key>`, throttles addresses that keep failing, checks the key against the in-memory
 * key ring (constant time, no I/O), applies the key's request limit, and exposes `keyId` / `keyName` to the
 * handlers. Handlers call `chargeScoredTokens(c, n)` once they know how many tokens they scored.
 * Error bodies use the API-wide shape `{"error": {"type", "message", "param"?}}`. The key itself is never logged.
 */
import type { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import { AuthFailureThrottle } from '../../auth/auth-failure-throttle.ts';
import type { KeyRing } from '../../auth/key-ring.ts';
import type { KeyLimits } from '../../auth/key-record.ts';
import { SILENT_LOGGER, type AuthLogger } from '../../auth/logger.ts';
import type { KeyRateLimiter } from '../../auth/rate-limiter.ts';

/** Books scored tokens against the authenticated key (see `chargeScoredTokens`). */
export interface ApiKeyUsage {
  chargeTokens(tokens: number): void;
}

declare module 'hono' {
  interface ContextVariableMap {
    /** Public id of the authenticated key (`anonymous` when auth is disabled). Safe to log and label. */
    keyId: string;
    /** Operator-given name of the authenticated key (`anonymous` when auth is disabled). */
    keyName: string;
    /** Set by `apiKeyAuth`; use `chargeScoredTokens` rather than reading it. */
    apiKeyUsage: ApiKeyUsage | undefined;
  }
}

/** Query parameters that look like a key; any of them gets a 400 (keys in URLs end up in logs). */
const QUERY_KEY_PARAMS = ['api_key', 'apikey', 'key', 'access_token', 'token'] as const;
const REALM = 'ensembled-perplexity';
const BEARER = /^Bearer +([^\s]+) *$/i;
const INVALID_KEY_MESSAGE = 'invalid API key';
/** Retry-After while no key set has been loaded yet (the ring retries every couple of seconds). */
const NOT_READY_RETRY_SECONDS = 5;
const ANONYMOUS = 'anonymous';

export interface ApiKeyAuthOptions {
  /** The loaded key set, or `'none'` to disable authentication (config `auth.store: none`; logs a warning). */
  keyRing: KeyRing | 'none';
  /** Per-key request and token limits. Ignored when `keyRing` is `'none'`. */
  limiter?: KeyRateLimiter;
  /**
   * Throttle of failed attempts per client address.
   * @default - a new `AuthFailureThrottle()` (10 failures, then one attempt per 6 s)
   */
  authThrottle?: AuthFailureThrottle;
  /**
   * How to name the client for the failure throttle. Behind a load balancer, use `forwardedClientAddress`.
   * @default - the TCP peer address from @hono/node-server, or `unknown`
   */
  clientAddress?: (c: Context) => string;
  /** @default - a silent logger */
  logger?: AuthLogger;
  /**
   * Clock, ms since the epoch.
   * @default Date.now
   */
  clock?: () => number;
}

/**
 * Creates the API key middleware.
 * @example
 * app.use('/v1/perplexity', apiKeyAuth({ keyRing, limiter, logger }));
 */
export const apiKeyAuth = (options: ApiKeyAuthOptions): MiddlewareHandler => {
  const logger = options.logger ?? SILENT_LOGGER;
  const clock = options.clock ?? Date.now;
  const { keyRing } = options;

  if (keyRing === 'none') {
    logger.warn(
      'API key authentication is disabled (auth.store is "none"): anyone who can reach this server can use it',
    );
    return async function apiKeyAuth(c, next) {
      const rejected = rejectQueryKey(c);
      if (rejected) return rejected;
      c.set('keyId', ANONYMOUS);
      c.set('keyName', ANONYMOUS);
      c.set('apiKeyUsage', undefined);
      await next();
    };
  }

  const { limiter } = options;
  if (!limiter) throw new Error('apiKeyAuth: `limiter` is required unless keyRing is "none"');
  const throttle = options.authThrottle ?? new AuthFailureThrottle();
  const clientAddress = options.clientAddress ?? socketAddress;

  return async function apiKeyAuth(c, next) {
    const rejected = rejectQueryKey(c);
    if (rejected) return rejected;
    const now = clock();
    const client = clientAddress(c);

    const gate = throttle.check(client, now);
    if (!gate.allowed) {
      return errorResponse(
        c,
        429,
        'rate_limit_exceeded',
        'too many failed authentication attempts; retry later',
        {
          'Retry-After': String(gate.retryAfterSeconds),
        },
      );
    }

    const header = c.req.header('Authorization');
    if (header === undefined || header.trim() === '') {
      return errorResponse(
        c,
        401,
        'unauthorized',
        'missing API key: send it as "Authorization: Bearer <key>"',
        { 'WWW-Authenticate': `Bearer realm="${REALM}"` },
      );
    }

    if (!keyRing.ready) {
      return errorResponse(c, 503, 'unavailable', 'API keys are not loaded yet; retry shortly', {
        'Retry-After': String(NOT_READY_RETRY_SECONDS),
      });
    }

    const presented = BEARER.exec(header)?.[1];
    const result = presented === undefined ? undefined : keyRing.verify(presented, now);
    if (!result?.ok) {
      const blocked = throttle.recordFailure(client, now);
      const keyId = result && 'keyId' in result ? result.keyId : undefined;
      const reason = result ? result.reason : 'malformed';
      logger.debug({ keyId, reason, client }, 'API key rejected');
      if (blocked) {
        logger.warn({ client }, 'client blocked after repeated failed authentication');
      }
      return errorResponse(c, 401, 'unauthorized', INVALID_KEY_MESSAGE, {
        'WWW-Authenticate': `Bearer realm="${REALM}", error="invalid_token"`,
      });
    }

    const decision = limiter.admit(result.keyId, result.limits, now);
    if (!decision.allowed) {
      const what = decision.limit === 'tokens' ? 'tokens per minute' : 'requests per minute';
      logger.debug({ keyId: result.keyId, limit: decision.limit }, 'API key over its rate limit');
      return errorResponse(
        c,
        429,
        'rate_limit_exceeded',
        `rate limit exceeded for this API key (${what}); retry after ${decision.retryAfterSeconds} s`,
        { 'Retry-After': String(decision.retryAfterSeconds) },
      );
    }

    c.set('keyId', result.keyId);
    c.set('keyName', result.name);
    c.set('apiKeyUsage', usageFor(limiter, result.keyId, result.limits, clock));
    await next();
  };
};

/**
 * Books `tokens` scored tokens against the request's key, for its tokens-per-minute limit. Call it when the
 * count is known (end of the handler); a no-op when auth is disabled or the request was not authenticated.
 */
export function chargeScoredTokens(c: Context, tokens: number): void {
  c.get('apiKeyUsage')?.chargeTokens(tokens);
}

/**
 * Client address for load-balanced deployments: the `X-Forwarded-For` entry added by the outermost trusted
 * proxy. Each proxy appends the address it received the connection from, so with `trustedProxies` hops in front
 * of us (ALB alone: 1; CloudFront + ALB: 2) the client is the `trustedProxies`-th entry from the right; anything
 * further left is client-supplied and ignored. Falls back to the TCP peer when the header is shorter.
 */
export function forwardedClientAddress(options: {
  trustedProxies: number;
}): (c: Context) => string {
  const { trustedProxies } = options;
  if (!Number.isInteger(trustedProxies) || trustedProxies < 1) {
    throw new RangeError(`trustedProxies must be a positive integer, got ${trustedProxies}`);
  }
  return (c) => {
    const entries = (c.req.header('X-Forwarded-For') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    return entries[entries.length - trustedProxies] ?? socketAddress(c);
  };
}

/** The error body shared by the whole API. */
function errorResponse(
  c: Context,
  status: 400 | 401 | 403 | 429 | 503,
  type: string,
  message: string,
  headers: Record<string, string> = {},
  param?: string,
): Response {
  return c.json(
    { error: { type, message, ...(param === undefined ? {} : { param }) } },
    status,
    headers,
  );
}

function rejectQueryKey(c: Context): Response | undefined {
  const url = new URL(c.req.url);
  const param = QUERY_KEY_PARAMS.find((name) => url.searchParams.has(name));
  if (param === undefined) return undefined;
  return errorResponse(
    c,
    400,
    'invalid_request',
    'API keys are not accepted in the URL; send the key as "Authorization: Bearer <key>"',
    {},
    param,
  );
}

function socketAddress(c: Context): string {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? 'unknown';
}

function usageFor(
  limiter: KeyRateLimiter,
  keyId: string,
  limits: KeyLimits,
  clock: () => number,
): ApiKeyUsage {
  return { chargeTokens: (tokens) => limiter.chargeTokens(keyId, tokens, limits, clock()) };
}
