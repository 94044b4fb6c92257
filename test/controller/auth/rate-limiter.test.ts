import { describe, expect, it } from 'vitest';
import { AuthFailureThrottle } from '../../../controller/auth/auth-failure-throttle.ts';
import { KeyRateLimiter } from '../../../controller/auth/rate-limiter.ts';

const T0 = 1_800_000_000_000;

describe('per-key rate limiter', () => {
  it('allows a minute of requests as a burst, then refuses with Retry-After until one accrues', () => {
    const limiter = new KeyRateLimiter({ requestsPerMinute: 60, tokensPerMinute: 1_000 });
    for (let i = 0; i < 60; i++) expect(limiter.admit('k', {}, T0).allowed).toBe(true);
    expect(limiter.admit('k', {}, T0)).toEqual({
      allowed: false,
      limit: 'requests',
      retryAfterSeconds: 1,
    });
    // 60/min = one per second.
    expect(limiter.admit('k', {}, T0 + 1_000).allowed).toBe(true);
    expect(limiter.admit('k', {}, T0 + 1_000).allowed).toBe(false);
  });

  it('applies per-key overrides over the defaults, and keys do not share budgets', () => {
    const limiter = new KeyRateLimiter({ requestsPerMinute: 100, tokensPerMinute: 1_000 });
    expect(limiter.admit('small', { requestsPerMinute: 2 }, T0).allowed).toBe(true);
    expect(limiter.admit('small', { requestsPerMinute: 2 }, T0).allowed).toBe(true);
    const refused = limiter.admit('small', { requestsPerMinute: 2 }, T0);
    expect(refused).toMatchObject({ allowed: false, retryAfterSeconds: 30 });
    expect(limiter.admit('other', {}, T0).allowed).toBe(true);
  });

  it('charges tokens after the request and refuses while the key is in token debt', () => {
    const limiter = new KeyRateLimiter({ requestsPerMinute: 1_000, tokensPerMinute: 6_000 });
    expect(limiter.admit('k', {}, T0).allowed).toBe(true);
    // A big request overdraws the bucket by 3000 tokens: 30 s of accrual at 100 tokens/s.
    limiter.chargeTokens('k', 9_000, {}, T0);
    expect(limiter.admit('k', {}, T0)).toEqual({
      allowed: false,
      limit: 'tokens',
      retryAfterSeconds: 31,
    });
    expect(limiter.admit('k', {}, T0 + 29_000).allowed).toBe(false);
    expect(limiter.admit('k', {}, T0 + 31_000).allowed).toBe(true);
  });

  it('ignores nonsense charges and tolerates a clock going backwards', () => {
    const limiter = new KeyRateLimiter({ requestsPerMinute: 1, tokensPerMinute: 10 });
    limiter.chargeTokens('k', Number.NaN, {}, T0);
    limiter.chargeTokens('k', -5, {}, T0);
    expect(limiter.admit('k', {}, T0).allowed).toBe(true);
    expect(limiter.admit('k', {}, T0 - 60_000).allowed).toBe(false);
  });

  it('keeps memory bounded: at most maxKeys keys are tracked', () => {
    const limiter = new KeyRateLimiter({ requestsPerMinute: 1, tokensPerMinute: 10, maxKeys: 100 });
    for (let i = 0; i < 10_000; i++) limiter.admit(`k${i}`, {}, T0);
    // The oldest keys were evicted, so they start again from a full bucket.
    expect(limiter.admit('k0', {}, T0).allowed).toBe(true);
    expect(limiter.admit('k9999', {}, T0).allowed).toBe(false);
  });

  it('fails construction on invalid limits', () => {
    expect(() => new KeyRateLimiter({ requestsPerMinute: 0, tokensPerMinute: 1 })).toThrow(
      /requestsPerMinute must be a positive number, got 0/,
    );
  });
});

describe('failed-authentication throttle', () => {
  it('blocks an address after maxFailures failures and lets it try again after windowMs/maxFailures', () => {
    const throttle = new AuthFailureThrottle({ maxFailures: 5, windowMs: 60_000 });
    const blockedAt: boolean[] = [];
    for (let i = 0; i < 5; i++) {
      expect(throttle.check('1.2.3.4', T0).allowed).toBe(true);
      blockedAt.push(throttle.recordFailure('1.2.3.4', T0));
    }
    // Exactly the failure that used up the last attempt reports the block.
    expect(blockedAt).toEqual([false, false, false, false, true]);
    expect(throttle.check('1.2.3.4', T0)).toEqual({
      allowed: false,
      limit: 'requests',
      retryAfterSeconds: 12,
    });
    expect(throttle.check('5.6.7.8', T0).allowed).toBe(true);
    expect(throttle.check('1.2.3.4', T0 + 12_000).allowed).toBe(true);
  });

  it('keeps memory bounded', () => {
    const throttle = new AuthFailureThrottle({ maxFailures: 1, maxAddresses: 10 });
    for (let i = 0; i < 1_000; i++) throttle.recordFailure(`10.0.${i >> 8}.${i & 255}`, T0);
    expect(throttle.check('10.0.0.0', T0).allowed).toBe(true);
    expect(throttle.check('10.0.3.231', T0).allowed).toBe(false);
  });
});
