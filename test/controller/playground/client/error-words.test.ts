import { describe, expect, it } from 'vitest';
import {
  describeFailure,
  retryAfterSeconds,
} from '../../../../controller/playground/client/error-words.ts';

describe('API failures in plain words', () => {
  it('says what happened, what to do, and quotes the server', () => {
    const bad = describeFailure({
      status: 401,
      error: { type: 'unauthorized', message: 'invalid API key' },
    });
    expect(bad).toMatch(/API key was not accepted/);
    expect(bad).toContain('“invalid API key”');
    expect(
      describeFailure({ status: 413, error: { type: 'payload_too_large', message: 'too big' } }),
    ).toMatch(/too large/);
    expect(
      describeFailure({ status: 503, error: { type: 'degraded', message: 'quorum' } }),
    ).toMatch(/Not enough models/);
    expect(
      describeFailure({
        status: 400,
        error: { type: 'invalid_request', message: 'm', param: 'flag_fpr' },
      }),
    ).toMatch(/field: flag_fpr/);
    expect(describeFailure({ status: 0 })).toMatch(/Could not reach the server/);
    expect(describeFailure({ status: 418 })).toMatch(/HTTP 418/);
  });

  it('tells how long to wait after a 429', () => {
    expect(describeFailure({ status: 429, retryAfterSeconds: 7 })).toMatch(
      /Try again in 7 seconds/,
    );
    expect(describeFailure({ status: 429, retryAfterSeconds: 1 })).toMatch(/in 1 second\./);
    expect(describeFailure({ status: 429 })).toMatch(/Wait a moment/);
  });

  it('reads Retry-After as seconds or as a date', () => {
    expect(retryAfterSeconds('12')).toBe(12);
    expect(retryAfterSeconds(new Date(10_500).toUTCString(), 1_000)).toBe(9);
    expect(retryAfterSeconds(null)).toBeUndefined();
    expect(retryAfterSeconds('soon')).toBeUndefined();
  });
});
