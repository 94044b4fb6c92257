/**
 * @module
 * What the client throws. Every error extends `EnsembledPerplexityError` and carries a stable `code`; match on
 * the code (or `instanceof`), never on the message.
 */

export type ClientErrorCode =
  /** The API answered with an error status (`status`, `type`, `param` say which). */
  | 'EP_API_ERROR'
  /** A stream ended with an error line after results had started (`type` says why). */
  | 'EP_STREAM_ERROR'
  /** No answer within `timeoutMs`. */
  | 'EP_TIMEOUT'
  /** The caller's signal aborted the call. */
  | 'EP_ABORTED'
  /** The server could not be reached, or the connection broke. */
  | 'EP_CONNECTION'
  /** The server answered something that is not the API's shape. */
  | 'EP_BAD_RESPONSE';

export class EnsembledPerplexityError extends Error {
  override name = 'EnsembledPerplexityError';
  readonly code: ClientErrorCode;
  constructor(code: ClientErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * An error status from the API, with its `{"error": {type, message, param}}` body. `message` is the server's
 * message as sent.
 */
export class ApiResponseError extends EnsembledPerplexityError {
  override name = 'ApiResponseError';
  readonly status: number;
  /** Machine-readable kind, e.g. `invalid_request`, `rate_limit_exceeded`, `backend_unavailable`. */
  readonly type: string;
  /** The offending request field, e.g. `texts[3]`, when the server named one. */
  readonly param: string | undefined;
  /** Seconds the server asked to wait (`Retry-After`), when given. */
  readonly retryAfter: number | undefined;
  constructor(status: number, type: string, message: string, param?: string, retryAfter?: number) {
    super('EP_API_ERROR', message);
    this.status = status;
    this.type = type;
    this.param = param;
    this.retryAfter = retryAfter;
  }

  /** Whether the same request may succeed later (rate limit, overload, backend trouble, deadline). */
  get retryable(): boolean {
    return this.status === 429 || this.status === 502 || this.status === 503 || this.status === 504;
  }

  override toString(): string {
    return `${this.name}: ${this.status} ${this.type}${this.param ? ` (${this.param})` : ''}: ${this.message}`;
  }
}

/** A stream that failed after it started: the lines before it were delivered. */
export class StreamError extends EnsembledPerplexityError {
  override name = 'StreamError';
  readonly type: string;
  constructor(type: string, message: string) {
    super('EP_STREAM_ERROR', `stream ended with ${type}: ${message}`);
    this.type = type;
  }
}
