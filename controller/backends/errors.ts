/**
 * @module
 * Typed failures of a backend call. The API layer maps them to HTTP once (502/503/504); the scheduler uses
 * `retryable` to decide whether another replica may be tried.
 */

export type BackendErrorCode =
  /** Connection refused, reset or timed out: the backend is down or unreachable. */
  | 'BACKEND_UNAVAILABLE'
  /** The backend answered 5xx. */
  | 'BACKEND_SERVER_ERROR'
  /** The backend answered 200 with a body that is not the vLLM shape (or not JSON at all). */
  | 'BACKEND_BAD_RESPONSE'
  /** The backend rejected the request (4xx): the input or the request is wrong; never retried. */
  | 'BACKEND_REJECTED'
  /** The request's deadline passed while waiting for the backend. */
  | 'DEADLINE_EXCEEDED'
  /** The caller went away; nobody waits for the answer. */
  | 'CANCELLED';

const RETRYABLE: ReadonlySet<BackendErrorCode> = new Set([
  'BACKEND_UNAVAILABLE',
  'BACKEND_SERVER_ERROR',
  'BACKEND_BAD_RESPONSE',
]);

export class BackendError extends Error {
  override name = 'BackendError';
  readonly code: BackendErrorCode;
  /** HTTP status the backend answered, when it answered. */
  readonly status: number | undefined;
  /** vLLM's `param` from its error body (e.g. `input_tokens`), when given. */
  readonly param: string | undefined;
  /** Backend that failed, for logs and health accounting (never shown to API callers). */
  readonly backend: string;

  constructor(
    code: BackendErrorCode,
    message: string,
    opts: { backend: string; status?: number; param?: string; cause?: unknown },
  ) {
    super(message, { cause: opts.cause });
    this.code = code;
    this.status = opts.status;
    this.param = opts.param;
    this.backend = opts.backend;
  }

  /** Whether trying another replica of the same model may help. */
  get retryable(): boolean {
    return RETRYABLE.has(this.code);
  }

  /** Whether this failure says something about the backend's health (as opposed to the input or the caller). */
  get isBackendFault(): boolean {
    return RETRYABLE.has(this.code);
  }
}

/** Reads vLLM's error body in either format: `{"error":{message,type,param,code}}` or flat `{"object":"error",...}`. */
export function parseVllmErrorBody(body: string): {
  message: string;
  type?: string;
  param?: string;
} {
  try {
    const json = JSON.parse(body) as unknown;
    if (json && typeof json === 'object') {
      const obj = json as Record<string, unknown>;
      const inner =
        obj.error && typeof obj.error === 'object' ? (obj.error as Record<string, unknown>) : obj;
      const message =
        typeof inner.message === 'string'
          ? inner.message
          : typeof obj.error === 'string'
            ? obj.error
            : undefined;
      if (message !== undefined) {
        return {
          message,
          ...(typeof inner.type === 'string' ? { type: inner.type } : {}),
          ...(typeof inner.param === 'string' ? { param: inner.param } : {}),
        };
      }
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  return { message: body.slice(0, 300) || 'no error body' };
}

/** A name-like token from a backend's error body (`BadRequestError`, `input_tokens`); anything else is dropped. */
const NAME_LIKE = /^[A-Za-z][A-Za-z0-9_.-]{0,47}$/;

/**
 * What a backend's refusal may say in logs and responses. A backend's error message can quote the input it choked
 * on (a special-token spelling, a word its tokenizer crashed on), and that input is a caller's text: so the
 * message itself is never kept, only the status, vLLM's error `type` and `param` when they are plain names, and
 * the one numeric fact a caller can act on (the model's context length).
 */
export function describeBackendRefusal(
  status: number,
  parsed: { message: string; type?: string; param?: string },
): string {
  const type = parsed.type !== undefined && NAME_LIKE.test(parsed.type) ? parsed.type : undefined;
  const param =
    parsed.param !== undefined && NAME_LIKE.test(parsed.param) ? parsed.param : undefined;
  const context = /maximum context length is (\d+) tokens/i.exec(parsed.message)?.[1];
  const what = context
    ? `the input exceeds the model's context of ${context} tokens`
    : status >= 500
      ? 'the backend failed on this input'
      : 'the backend refused this input';
  const details = [type, param ? `param ${param}` : undefined].filter(Boolean).join(', ');
  return `${what} (${status}${details ? `, ${details}` : ''})`;
}
