/**
 * @module
 * API failures in plain words: what happened, what to do, and the server's own message.
 */

export interface ApiFailure {
  readonly status: number;
  /** The server's `{"error": {...}}` body, when it sent one. */
  readonly error?: { readonly type?: string; readonly message?: string; readonly param?: string };
  /** `Retry-After` in seconds, when the server sent it. */
  readonly retryAfterSeconds?: number;
}

export function describeFailure(failure: ApiFailure): string {
  const said = failure.error?.message ? ` The server said: “${failure.error.message}”.` : '';
  const field = failure.error?.param ? ` (field: ${failure.error.param})` : '';
  switch (failure.status) {
    case 0:
      return 'Could not reach the server. Check that it is running and that this page was opened from it.';
    case 400:
    case 422:
      return `The request was not accepted${field}.${said}`;
    case 401:
      return `The API key was not accepted. Paste a valid key above (see “Where do I get a key?”).${said}`;
    case 403:
      return `This key may not do that.${said}`;
    case 413:
      return `The text is too large for one request. Shorten it or split it into several lines in the batch tab.${said}`;
    case 429: {
      const wait =
        failure.retryAfterSeconds !== undefined
          ? ` Try again in ${failure.retryAfterSeconds} second${failure.retryAfterSeconds === 1 ? '' : 's'}.`
          : ' Wait a moment and try again.';
      return `Too many requests for now.${wait}${said}`;
    }
    case 502:
    case 503:
      return `Not enough models are available to score right now (the ensemble would be degraded). Try again shortly, or pick fewer models.${said}`;
    case 504:
      return `The models took too long to answer. Try a shorter text or fewer texts.${said}`;
    default:
      return failure.status >= 500
        ? `The server failed (HTTP ${failure.status}).${said}`
        : `The request failed (HTTP ${failure.status}).${said}`;
  }
}

/** Reads `Retry-After` as seconds (delta-seconds or an HTTP date). */
export function retryAfterSeconds(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}
