/**
 * @module
 * The retry loop shared by the stores' compare-and-swap `update`: attempts until one is stored, with a short
 * random back-off so that writers who collided do not collide again in lockstep.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { KeyStoreError } from './key-store.ts';

/** Thrown by an attempt that lost the race; anything else ends the loop. */
export class WriteConflict extends Error {
  override name = 'WriteConflict';
}

export interface RetryOptions {
  /** @default 20 */
  readonly maxAttempts?: number;
  /** Upper bound of the first back-off in ms; it doubles per attempt up to 1 s. @default 20 */
  readonly backoffMs?: number;
}

export async function retryConflicts<T>(
  where: string,
  attempt: () => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const maxAttempts = options.maxAttempts ?? 20;
  let backoff = options.backoffMs ?? 20;
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof WriteConflict)) throw err;
      if (i >= maxAttempts) {
        throw new KeyStoreError(
          'EP_KEYSTORE_CONFLICT',
          `key store ${where} kept changing under ${maxAttempts} attempts to write it; nothing was stored, retry`,
          { cause: err },
        );
      }
      await sleep(Math.random() * backoff);
      backoff = Math.min(1_000, backoff * 2);
    }
  }
}
