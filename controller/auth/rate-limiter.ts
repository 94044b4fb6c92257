/**
 * @module
 * Per-key limits: requests per minute and scored tokens per minute, each a token bucket (burst up to a
 * minute's allowance). Token counts are known only when a request finishes, so `admit` checks that the key is
 * not in token debt and `chargeTokens` books the tokens afterwards; a large request can overdraw the bucket, and
 * the key then waits until the debt is repaid. Limits are per process: with N controllers behind a load
 * balancer a key may get up to N times its limit.
 */
import { LRUCache } from 'lru-cache';
import type { KeyLimits } from './key-record.ts';
import { fullBucket, refill, secondsUntil, type Bucket } from './token-bucket.ts';

const MINUTE_MS = 60_000;

/** Outcome of a limit check. `retryAfterSeconds` is 0 when allowed, otherwise ≥ 1 (for `Retry-After`). */
export type RateDecision =
  | { allowed: true; retryAfterSeconds: 0 }
  | { allowed: false; retryAfterSeconds: number; limit: 'requests' | 'tokens' };

export interface KeyRateLimiterOptions {
  /** Default requests per minute per key (config `auth.requestsPerMinute`). */
  requestsPerMinute: number;
  /** Default scored tokens per minute per key (config `auth.tokensPerMinute`). */
  tokensPerMinute: number;
  /**
   * Keys tracked at once; the least recently used key's counters are dropped beyond this.
   * @default 10_000
   */
  maxKeys?: number;
}

interface KeyState {
  requests: Bucket;
  tokens: Bucket;
}

/** Per-key requests/minute and tokens/minute with per-key overrides (`KeyRecord.limits`). */
export class KeyRateLimiter {
  readonly #defaults: { requestsPerMinute: number; tokensPerMinute: number };
  readonly #states: LRUCache<string, KeyState>;

  constructor(options: KeyRateLimiterOptions) {
    const { requestsPerMinute, tokensPerMinute, maxKeys = 10_000 } = options;
    for (const [name, value] of Object.entries({ requestsPerMinute, tokensPerMinute, maxKeys })) {
      if (!Number.isFinite(value) || value <= 0) {
        throw new RangeError(`${name} must be a positive number, got ${value}`);
      }
    }
    this.#defaults = { requestsPerMinute, tokensPerMinute };
    this.#states = new LRUCache({ max: maxKeys });
  }

  /**
   * Admits one request of `keyId` if it has a request left and no token debt; an admitted request is counted.
   * @param limits the key's overrides; missing fields use the defaults.
   */
  admit(keyId: string, limits: KeyLimits = {}, now: number = Date.now()): RateDecision {
    const { rpm, tpm } = this.#effective(limits);
    const state = this.#state(keyId, rpm, tpm, now);
    refill(state.requests, rpm, MINUTE_MS, now);
    refill(state.tokens, tpm, MINUTE_MS, now);
    if (state.requests.level < 1) {
      return {
        allowed: false,
        limit: 'requests',
        retryAfterSeconds: secondsUntil(state.requests, 1, rpm, MINUTE_MS),
      };
    }
    if (state.tokens.level <= 0) {
      return {
        allowed: false,
        limit: 'tokens',
        retryAfterSeconds: secondsUntil(state.tokens, 1, tpm, MINUTE_MS),
      };
    }
    state.requests.level -= 1;
    return { allowed: true, retryAfterSeconds: 0 };
  }

  /** Books `tokens` scored tokens against `keyId` once a request has finished (may overdraw). */
  chargeTokens(
    keyId: string,
    tokens: number,
    limits: KeyLimits = {},
    now: number = Date.now(),
  ): void {
    if (!Number.isFinite(tokens) || tokens <= 0) return;
    const { rpm, tpm } = this.#effective(limits);
    const state = this.#state(keyId, rpm, tpm, now);
    refill(state.tokens, tpm, MINUTE_MS, now);
    state.tokens.level -= tokens;
  }

  #effective(limits: KeyLimits): { rpm: number; tpm: number } {
    return {
      rpm: limits.requestsPerMinute ?? this.#defaults.requestsPerMinute,
      tpm: limits.tokensPerMinute ?? this.#defaults.tokensPerMinute,
    };
  }

  #state(keyId: string, rpm: number, tpm: number, now: number): KeyState {
    let state = this.#states.get(keyId);
    if (!state) {
      state = { requests: fullBucket(rpm, now), tokens: fullBucket(tpm, now) };
      this.#states.set(keyId, state);
    }
    return state;
  }
}
