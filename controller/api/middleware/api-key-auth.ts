/**
 * @module
 * `apiKeyAuth`: the Hono middleware in front of the scoring routes. The decision is `auth/api-key-gate.ts`; this
 * binds it to the request (headers, client address) and exposes `keyId` / `keyName` to the handlers. Handlers call
 * `chargeScoredTokens(c, n)` once they know how many tokens they scored. Error bodies use the API-wide shape
 * `{"error": {"type", "message", "param"?}}`.
 */
import type { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import { apiKeyGate } from '../../auth/api-key-gate.ts';
import type { ApiKeyGate, ApiKeyGateOptions, ApiKeyUsage } from '../../auth/api-key-gate.ts';

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

export interface ApiKeyAuthOptions extends ApiKeyGateOptions {
  /**
   * How to name the client for the failure throttle. Behind a load balancer, use `forwardedClientAddress`.
   * @default - the TCP peer address from @hono/node-server, or `unknown`
   */
  clientAddress?: (c: Context) => string;
}

/**
 * Creates the API key middleware.
 * @example
 * app.use('/v1/perplexity', apiKeyAuth({ keyRing, limiter, logger }));
 */
export const apiKeyAuth = (options: ApiKeyAuthOptions): MiddlewareHandler =>
  gateMiddleware(apiKeyGate(options), options.clientAddress);

/** The middleware for an existing gate (see `auth/authentication.ts`). */
export function gateMiddleware(
  gate: ApiKeyGate,
  clientAddress: (c: Context) => string = socketAddress,
): MiddlewareHandler {
  return async function apiKeyAuth(c, next) {
    const decision = gate.check({
      url: c.req.url,
      authorization: c.req.header('Authorization'),
      client: () => clientAddress(c),
    });
    if (!decision.ok) {
      const { type, message, param } = decision;
      return c.json(
        { error: { type, message, ...(param === undefined ? {} : { param }) } },
        decision.status,
        decision.headers,
      );
    }
    c.set('keyId', decision.keyId);
    c.set('keyName', decision.keyName);
    c.set('apiKeyUsage', decision.usage);
    await next();
  };
}

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

function socketAddress(c: Context): string {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? 'unknown';
}
