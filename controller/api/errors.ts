/**
 * @module
 * The API's one error shape, `{"error": {"type", "message", "param"?}}`, and the mapping of domain errors to
 * HTTP statuses. Every failure leaves through here, so no route invents its own.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { BackendError } from '../backends/errors.ts';
import { QueueFullError } from '../scheduler/model-scheduler.ts';
import { QuorumError } from '../ensemble/ensemble-scorer.ts';

/**
 * nginx's "client closed request": the client went away before the answer. It is recorded, never sent, and is
 * neither a server error nor an alarm.
 */
export const CLIENT_CLOSED_STATUS = 499 as ContentfulStatusCode;

export interface ErrorBody {
  error: { type: string; message: string; param?: string };
}

/** An error the API reports as is: status, machine-readable type, message, and the offending field. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: ContentfulStatusCode;
  readonly type: string;
  readonly param: string | undefined;
  readonly headers: Record<string, string>;

  constructor(
    status: ContentfulStatusCode,
    type: string,
    message: string,
    opts: { param?: string; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.status = status;
    this.type = type;
    this.param = opts.param;
    this.headers = opts.headers ?? {};
  }
}

/**
 * 413 for a request body over `max` bytes. Where streaming admits more (`streamMax`), the message says how to
 * send the job as a stream instead of leaving the client to guess.
 */
export function bodyTooLarge(
  max: number,
  streamMax?: number,
  headers: Record<string, string> = {},
): ApiError {
  const hint =
    streamMax !== undefined && streamMax > max
      ? `; send it with "Accept: application/x-ndjson" to stream the results, which allows bodies up to ${streamMax} bytes`
      : '';
  return new ApiError(413, 'payload_too_large', `the request body exceeds ${max} bytes${hint}`, {
    headers,
  });
}

export function errorBody(type: string, message: string, param?: string): ErrorBody {
  return { error: param === undefined ? { type, message } : { type, message, param } };
}

/** Formats a zod issue path as the caller wrote it: `texts[3]`, `weights.llama`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(body)';
}

/**
 * The field a zod issue is about. An unknown field is named itself (`weights.x`, not `weights`), so the client
 * sees which key to drop.
 */
export function issueField(issue: {
  readonly path: readonly PropertyKey[];
  readonly code?: string;
  readonly keys?: readonly string[];
}): string {
  const unknown = issue.code === 'unrecognized_keys' ? issue.keys?.[0] : undefined;
  return fieldPath(unknown === undefined ? issue.path : [...issue.path, unknown]);
}

/** Maps any thrown value to a status and body; unknown errors become a 500 without internals. */
export function toErrorResponse(err: unknown): {
  status: ContentfulStatusCode;
  body: ErrorBody;
  headers: Record<string, string>;
} {
  if (err instanceof ApiError) {
    return {
      status: err.status,
      body: errorBody(err.type, err.message, err.param),
      headers: err.headers,
    };
  }
  if (err instanceof QueueFullError) {
    return {
      status: 503,
      body: errorBody('overloaded', `${err.message}; retry later`),
      headers: { 'retry-after': '1' },
    };
  }
  if (
    (err instanceof BackendError && err.code === 'CANCELLED') ||
    (err instanceof QuorumError && err.cause.code === 'CANCELLED')
  ) {
    return {
      status: CLIENT_CLOSED_STATUS,
      body: errorBody('client_closed', 'the client closed the request'),
      headers: {},
    };
  }
  if (err instanceof QuorumError) {
    const deadline = err.cause.code === 'DEADLINE_EXCEEDED';
    return deadline
      ? { status: 504, body: errorBody('deadline_exceeded', err.message), headers: {} }
      : {
          status: 503,
          body: errorBody('backend_unavailable', err.message),
          headers: { 'retry-after': '5' },
        };
  }
  if (err instanceof BackendError) {
    if (err.code === 'DEADLINE_EXCEEDED') {
      return {
        status: 504,
        body: errorBody('deadline_exceeded', 'the deadline passed before the models answered'),
        headers: {},
      };
    }
    return {
      status: 502,
      body: errorBody('backend_error', 'a model backend failed'),
      headers: {},
    };
  }
  if (err instanceof HTTPException) {
    const status = err.status as ContentfulStatusCode;
    if (status === 415) {
      return {
        status,
        body: errorBody(
          'unsupported_media_type',
          'send the body as JSON with Content-Type: application/json',
        ),
        headers: {},
      };
    }
    const type =
      status === 413 ? 'payload_too_large' : status === 401 ? 'unauthorized' : 'invalid_request';
    const message =
      status === 400 && /JSON/i.test(err.message)
        ? 'the request body is not valid JSON'
        : err.message || 'bad request';
    return { status, body: errorBody(type, message), headers: {} };
  }
  return { status: 500, body: errorBody('internal_error', 'internal server error'), headers: {} };
}

export function sendError(c: Context, err: unknown): Response {
  const { status, body, headers } = toErrorResponse(err);
  for (const [k, v] of Object.entries(headers)) c.header(k, v);
  return c.json(body, status);
}
