/**
 * @module
 * Builds API-key authentication from the `auth` configuration: the key store, the in-memory key ring that
 * reloads it, per-key rate limits and the gate in front of the scoring routes (bound to HTTP by
 * `api/middleware/api-key-auth.ts`).
 */
import type { Logger } from 'pino';
import type { ControllerConfig } from '../config.ts';
import { apiKeyGate } from './api-key-gate.ts';
import type { ApiKeyGate } from './api-key-gate.ts';
import { KeyRing } from './key-ring.ts';
import { KeyRateLimiter } from './rate-limiter.ts';
import { openKeyStore } from './stores/open-key-store.ts';

export interface Authentication {
  readonly gate: ApiKeyGate;
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
  if (auth.store === 'none') {
    return { gate: apiKeyGate({ keyRing: 'none', logger }), keyRing: undefined, stop() {} };
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
  return { gate: apiKeyGate({ keyRing, limiter, logger }), keyRing, stop: () => keyRing.stop() };
}
