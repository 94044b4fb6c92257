/**
 * @module
 * Anti-brute-force throttle for failed authentication, per client address (OWASP API2: stricter than the
 * normal rate limits). Each address may fail `maxFailures` times in a burst, then regains one attempt every
 * `windowMs / maxFailures`; while it has none left its failed attempts get 429 instead of 401, so a blocked
 * address cannot keep probing. A valid key is never throttled (see `api-key-gate.ts`).
 */
import { LRUCache } from 'lru-cache';
import type { RateDecision } from './rate-limiter.ts';
import { fullBucket, refill, secondsUntil, type Bucket } from './token-bucket.ts';

export interface AuthFailureThrottleOptions {
  /**
   * Failed attempts an address may make in a burst.
   * @default 10
   */
  maxFailures?: number;
  /**
   * Period in ms over which `maxFailures` attempts are regained.
   * @default 60_000
   */
  windowMs?: number;
  /**
   * Addresses tracked at once; the least recently seen are forgotten beyond this.
   * @default 50_000
   */
  maxAddresses?: number;
}

export class AuthFailureThrottle {
  readonly #max: number;
  readonly #windowMs: number;
  readonly #buckets: LRUCache<string, Bucket>;

  constructor(options: AuthFailureThrottleOptions = {}) {
    const { maxFailures = 10, windowMs = 60_000, maxAddresses = 50_000 } = options;
    for (const [name, value] of Object.entries({ maxFailures, windowMs, maxAddresses })) {
      if (!Number.isFinite(value) || value <= 0) {
        throw new RangeError(`${name} must be a positive number, got ${value}`);
      }
    }
    this.#max = maxFailures;
    this.#windowMs = windowMs;
    this.#buckets = new LRUCache({ max: maxAddresses });
  }

  /** Whether `address` may attempt authentication now. Does not count anything. */
  check(address: string, now: number = Date.now()): RateDecision {
    const bucket = this.#buckets.get(address);
    if (!bucket) return { allowed: true, retryAfterSeconds: 0 };
    refill(bucket, this.#max, this.#windowMs, now);
    if (bucket.level >= 1) return { allowed: true, retryAfterSeconds: 0 };
    return {
      allowed: false,
      limit: 'requests',
      retryAfterSeconds: secondsUntil(bucket, 1, this.#max, this.#windowMs),
    };
  }

  /**
   * Counts one failed attempt by `address`.
   * @returns true when this failure used the address's last attempt (log the block once, here).
   */
  recordFailure(address: string, now: number = Date.now()): boolean {
    let bucket = this.#buckets.get(address);
    if (!bucket) {
      bucket = fullBucket(this.#max, now);
      this.#buckets.set(address, bucket);
    }
    refill(bucket, this.#max, this.#windowMs, now);
    const before = bucket.level;
    bucket.level = Math.max(0, bucket.level - 1);
    return before >= 1 && bucket.level < 1;
  }
}
