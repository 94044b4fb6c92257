/**
 * @module
 * `apiKeyGate`: decides whether a request may score, without knowing the HTTP framework. It accepts keys only as
 * `Authorization: Bearer <key>`, refuses keys in the URL, throttles the failures of addresses that keep failing
 * (never a valid key), checks the key
 * against the in-memory key ring (constant time, no I/O) and applies the key's request limit. A refusal carries
 * the status, error type, message and headers the API answers with; the key itself is never logged.
 * The Hono binding is `api/middleware/api-key-auth.ts`.
 */
import { AuthFailureThrottle } from './auth-failure-throttle.ts';
import type { KeyRing } from './key-ring.ts';
import type { KeyLimits } from './key-record.ts';
import { SILENT_LOGGER, type AuthLogger } from './logger.ts';
import type { KeyRateLimiter } from './rate-limiter.ts';

/** Books scored tokens against the authenticated key, for its tokens-per-minute limit. */
export interface ApiKeyUsage {
  chargeTokens(tokens: number): void;
}

/** What the gate needs to know about a request. */
export interface GateRequest {
  /** The full request URL (keys in its query are refused). */
  readonly url: string;
  /** The `Authorization` header, if any. */
  readonly authorization: string | undefined;
  /** The client's address, for the failure throttle. */
  readonly client: () => string;
}

export type GateDecision =
  | {
      readonly ok: true;
      /** Public id of the key (`anonymous` when auth is disabled). Safe to log and label. */
      readonly keyId: string;
      /** Operator-given name of the key (`anonymous` when auth is disabled). */
      readonly keyName: string;
      /** Undefined when auth is disabled. */
      readonly usage: ApiKeyUsage | undefined;
    }
  | {
      readonly ok: false;
      readonly status: 400 | 401 | 429 | 503;
      readonly type: string;
      readonly message: string;
      readonly headers: Record<string, string>;
      readonly param?: string;
    };

export interface ApiKeyGate {
  check(request: GateRequest): GateDecision;
}

export interface ApiKeyGateOptions {
  /** The loaded key set, or `'none'` to disable authentication (config `auth.store: none`; logs a warning). */
  keyRing: KeyRing | 'none';
  /** Per-key request and token limits. Ignored when `keyRing` is `'none'`. */
  limiter?: KeyRateLimiter;
  /**
   * Throttle of failed attempts per client address.
   * @default - a new `AuthFailureThrottle()` (10 failures, then one attempt per 6 s)
   */
  authThrottle?: AuthFailureThrottle;
  /** @default - a silent logger */
  logger?: AuthLogger;
  /**
   * Clock, ms since the epoch.
   * @default Date.now
   */
  clock?: () => number;
}

/** Query parameters that look like a key; any of them gets a 400 (keys in URLs end up in logs). */
const QUERY_KEY_PARAMS = ['api_key', 'apikey', 'key', 'access_token', 'token'] as const;
const REALM = 'ensembled-perplexity';
const BEARER = /^Bearer +([^\s]+) *$/i;
const INVALID_KEY_MESSAGE = 'invalid API key';
/** Retry-After while no key set has been loaded yet (the ring retries every couple of seconds). */
const NOT_READY_RETRY_SECONDS = 5;
const ANONYMOUS = 'anonymous';

/**
 * Creates the gate.
 * @example
 * const gate = apiKeyGate({ keyRing, limiter, logger });
 * const decision = gate.check({ url, authorization, client: () => address });
 */
export function apiKeyGate(options: ApiKeyGateOptions): ApiKeyGate {
  const logger = options.logger ?? SILENT_LOGGER;
  const clock = options.clock ?? Date.now;
  const { keyRing } = options;

  if (keyRing === 'none') {
    logger.warn(
      'API key authentication is disabled (auth.store is "none"): anyone who can reach this server can use it',
    );
    return {
      check: (request) =>
        rejectQueryKey(request.url) ?? {
          ok: true,
          keyId: ANONYMOUS,
          keyName: ANONYMOUS,
          usage: undefined,
        },
    };
  }

  const { limiter } = options;
  if (!limiter) throw new Error('apiKeyAuth: `limiter` is required unless keyRing is "none"');
  const throttle = options.authThrottle ?? new AuthFailureThrottle();

  return {
    check(request) {
      const rejected = rejectQueryKey(request.url);
      if (rejected) return rejected;
      const now = clock();
      const client = request.client();

      const header = request.authorization;
      if (header === undefined || header.trim() === '') {
        const throttled = throttledRefusal(throttle, client, now);
        if (throttled) return throttled;
        return refuse(
          401,
          'unauthorized',
          'missing API key: send it as "Authorization: Bearer <key>"',
          {
            'WWW-Authenticate': `Bearer realm="${REALM}"`,
          },
        );
      }

      if (!keyRing.ready) {
        return refuse(503, 'unavailable', 'API keys are not loaded yet; retry shortly', {
          'Retry-After': String(NOT_READY_RETRY_SECONDS),
        });
      }

      const presented = BEARER.exec(header)?.[1];
      const result = presented === undefined ? undefined : keyRing.verify(presented, now);
      if (!result?.ok) {
        // Only failures are throttled: behind a shared NAT, one client's wrong key must not lock out the
        // colleagues whose keys are right. A valid key is checked in constant time and always gets through.
        const throttled = throttledRefusal(throttle, client, now);
        if (throttled) return throttled;
        const blocked = throttle.recordFailure(client, now);
        const keyId = result && 'keyId' in result ? result.keyId : undefined;
        const reason = result ? result.reason : 'malformed';
        logger.debug({ keyId, reason, client }, 'API key rejected');
        if (blocked) {
          logger.warn({ client }, 'client blocked after repeated failed authentication');
        }
        return refuse(401, 'unauthorized', INVALID_KEY_MESSAGE, {
          'WWW-Authenticate': `Bearer realm="${REALM}", error="invalid_token"`,
        });
      }

      const decision = limiter.admit(result.keyId, result.limits, now);
      if (!decision.allowed) {
        const what = decision.limit === 'tokens' ? 'tokens per minute' : 'requests per minute';
        logger.debug({ keyId: result.keyId, limit: decision.limit }, 'API key over its rate limit');
        return refuse(
          429,
          'rate_limit_exceeded',
          `rate limit exceeded for this API key (${what}); retry after ${decision.retryAfterSeconds} s`,
          { 'Retry-After': String(decision.retryAfterSeconds) },
        );
      }

      return {
        ok: true,
        keyId: result.keyId,
        keyName: result.name,
        usage: usageFor(limiter, result.keyId, result.limits, clock),
      };
    },
  };
}

function throttledRefusal(
  throttle: AuthFailureThrottle,
  client: string,
  now: number,
): GateDecision | undefined {
  const gate = throttle.check(client, now);
  if (gate.allowed) return undefined;
  return refuse(
    429,
    'rate_limit_exceeded',
    'too many failed authentication attempts from this address; retry later',
    { 'Retry-After': String(gate.retryAfterSeconds) },
  );
}

function refuse(
  status: 400 | 401 | 429 | 503,
  type: string,
  message: string,
  headers: Record<string, string> = {},
  param?: string,
): GateDecision {
  return { ok: false, status, type, message, headers, ...(param === undefined ? {} : { param }) };
}

function rejectQueryKey(url: string): GateDecision | undefined {
  const params = new URL(url).searchParams;
  const param = QUERY_KEY_PARAMS.find((name) => params.has(name));
  if (param === undefined) return undefined;
  return refuse(
    400,
    'invalid_request',
    'API keys are not accepted in the URL; send the key as "Authorization: Bearer <key>"',
    {},
    param,
  );
}

function usageFor(
  limiter: KeyRateLimiter,
  keyId: string,
  limits: KeyLimits,
  clock: () => number,
): ApiKeyUsage {
  return { chargeTokens: (tokens) => limiter.chargeTokens(keyId, tokens, limits, clock()) };
}
