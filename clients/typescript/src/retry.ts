/**
 * @module
 * When and how long to wait before sending a failed call again. Rate limits and overload (429, 503) are retried
 * after the server's `Retry-After`; with `transient` also gateway trouble (502, 504), lost connections and
 * timeouts, with exponential backoff when the server gives no delay.
 */
import { ApiResponseError, EnsembledPerplexityError, StreamError } from './errors.js';

export interface RetryOptions {
  /** Attempts after the first. 0 disables retries. @default 2 */
  readonly retries?: number;
  /** First backoff in ms when the server sends no `Retry-After`; doubles per attempt. @default 500 */
  readonly backoffMs?: number;
  /**
   * Longest single wait in ms. A `Retry-After` beyond it is not waited out: the error is thrown at once, so a
   * caller never sleeps for minutes unawares. @default 60000
   */
  readonly maxDelayMs?: number;
}

export const DEFAULT_RETRIES = 2;
const DEFAULT_BACKOFF_MS = 500;
const DEFAULT_MAX_DELAY_MS = 60_000;

/**
 * The wait before attempt `attempt + 1`, or `undefined` when `err` must be thrown. `transient` widens the
 * retried failures from 429/503 to every one that may pass (502, 504, connection loss, timeouts, broken streams).
 */
export function retryDelayMs(
  err: unknown,
  attempt: number,
  options: RetryOptions,
  transient: boolean,
): number | undefined {
  if (attempt >= (options.retries ?? DEFAULT_RETRIES)) return undefined;
  if (!isRetryable(err, transient)) return undefined;
  const maxDelay = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  const retryAfter = err instanceof ApiResponseError ? err.retryAfter : undefined;
  if (retryAfter !== undefined) {
    const ms = retryAfter * 1000;
    return ms <= maxDelay ? ms : undefined;
  }
  return Math.min((options.backoffMs ?? DEFAULT_BACKOFF_MS) * 2 ** attempt, maxDelay);
}

function isRetryable(err: unknown, transient: boolean): boolean {
  if (err instanceof ApiResponseError) {
    return err.status === 429 || err.status === 503 || (transient && err.retryable);
  }
  if (!transient) return false;
  return (
    err instanceof StreamError ||
    (err instanceof EnsembledPerplexityError &&
      (err.code === 'EP_CONNECTION' || err.code === 'EP_TIMEOUT'))
  );
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
