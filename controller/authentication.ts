/**
 * @module
 * Builds API-key authentication from the `auth` configuration: the key store, the in-memory key ring that
 * reloads it, per-key rate limits and the middleware in front of the scoring routes.
 */
import type { MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import { apiKeyAuth, forwardedClientAddress } from './api/middleware/auth.ts';
import { KeyRing } from './auth/key-ring.ts';
import { KeyRateLimiter } from './auth/rate-limiter.ts';
import { openKeyStore } from './auth/stores/open-key-store.ts';
import type { ControllerConfig } from './config.ts';

export interface Authentication {
  readonly authenticate: MiddlewareHandler;
  /** Undefined when authentication is disabled (`auth.store: none`). */
  readonly keyRing: KeyRing | undefined;
  stop(): void;
}

/** Loads the key set once (serving 503 on scoring routes until it loads) and keeps reloading it. */
export async function startAuthentication(
  config: ControllerConfig,
  logger: Logger,
): Promise<Authentication> {
  const { auth } = config;
  const clientAddress =
    auth.trustedProxies > 0
      ? forwardedClientAddress({ trustedProxies: auth.trustedProxies })
      : undefined;
  if (auth.store === 'none') {
    return { authenticate: apiKeyAuth({ keyRing: 'none', logger }), keyRing: undefined, stop() {} };
  }
  const store = openKeyStore(auth.store, auth.region ? { region: auth.region } : {});
  const keyRing = new KeyRing({ store, reloadMs: auth.reloadMs, logger });
  const loaded = await keyRing.start();
  if (!loaded)
    logger.warn(
      { store: store.description },
      'no key set loaded yet; scoring answers 503 until it loads',
    );
  const limiter = new KeyRateLimiter({
    requestsPerMinute: auth.requestsPerMinute,
    tokensPerMinute: auth.tokensPerMinute,
  });
  const authenticate = apiKeyAuth({
    keyRing,
    limiter,
    logger,
    ...(clientAddress ? { clientAddress } : {}),
  });
  return { authenticate, keyRing, stop: () => keyRing.stop() };
}
