/**
 * @module
 * `EnsembledPerplexityClient`: a typed client of the HTTP API over an undici keep-alive pool. Errors are typed
 * (`ApiResponseError` with status/type/param/retryAfter, `StreamError`, timeouts and connection failures with
 * codes); 429 and 503 answers are retried after their `Retry-After`; streamed scoring is an async iterator of
 * NDJSON lines; `scoreBatch` and `scoreMany` score any number of texts so that one bad text never costs its
 * neighbours.
 */
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import { scoreBatch, scoreMany } from './batch.js';
import type { BatchOptions, ManyOptions, TextOutcome } from './batch.js';
import { ApiResponseError, EnsembledPerplexityError, StreamError } from './errors.js';
import { retryDelayMs, sleep } from './retry.js';
import type { RetryOptions } from './retry.js';
import type {
  LegacyPerplexityResponse,
  CalibrationResponse,
  ModelsResponse,
  PerplexityRequest,
  PerplexityResponse,
  ReadyResponse,
  StreamLine,
} from './types.js';

export interface EnsembledPerplexityClientOptions {
  /** Where the API lives, e.g. `https://abc.cloudfront.net` or `http://127.0.0.1:8000` (a path prefix is kept). */
  readonly baseUrl: string;
  /** An API key (`ep_...`), sent as `Authorization: Bearer`. @default - no key (servers with `auth.store: none`) */
  readonly apiKey?: string;
  /**
   * Deadline of one call in ms; for a stream, the longest wait for its headers or between two lines. 0 disables it.
   * @default 120000
   */
  readonly timeoutMs?: number;
  /** Keep-alive connections to the server. @default 8 */
  readonly connections?: number;
  /** Retries of 429 and 503 answers (after their `Retry-After`). @default {retries: 2} */
  readonly retry?: RetryOptions;
}

export interface CallOptions {
  /** Cancels the call. */
  readonly signal?: AbortSignal;
  /** Overrides the client's retry options for this call. */
  readonly retry?: RetryOptions;
}

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };

/**
 * @example
 * const client = new EnsembledPerplexityClient({ baseUrl: 'http://127.0.0.1:8000', apiKey: process.env.EP_API_KEY });
 * const { results } = await client.perplexity({ texts: ['The cat sat on the mat.'] });
 * for await (const line of client.perplexityStream({ texts: manyTexts })) console.log(line);
 * await client.close();
 */
export class EnsembledPerplexityClient {
  readonly #pool: Pool;
  readonly #prefix: string;
  readonly #auth: Record<string, string>;
  readonly #timeoutMs: number;
  readonly #retry: RetryOptions;

  constructor(options: EnsembledPerplexityClientOptions) {
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw new TypeError(`baseUrl must be an http(s) URL, got ${JSON.stringify(options.baseUrl)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`baseUrl must be an http(s) URL, got ${options.baseUrl}`);
    }
    if (url.search || url.username) {
      // A key belongs in the Authorization header, never in a URL that ends up in logs.
      throw new TypeError('baseUrl must not carry a query string or credentials; pass apiKey');
    }
    const timeoutMs = options.timeoutMs ?? 120_000;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 0) {
      throw new TypeError(`timeoutMs must be a non-negative integer, got ${timeoutMs}`);
    }
    this.#timeoutMs = timeoutMs;
    this.#retry = options.retry ?? {};
    this.#prefix = url.pathname.replace(/\/+$/, '');
    this.#auth = options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {};
    this.#pool = new Pool(url.origin, {
      connections: options.connections ?? 8,
      // Our own deadline governs; undici's 300 s defaults would cut a long stream.
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
  }

  /** Scores texts with every model (or `req.models`) and the ensemble. */
  async perplexity(req: PerplexityRequest, options: CallOptions = {}): Promise<PerplexityResponse> {
    return this.#json<PerplexityResponse>('POST', '/v1/perplexity', req, options);
  }

  /**
   * Scores texts as an NDJSON stream: yields each text's result as it completes (completion order; each has its
   * `index`), then the summary line. Breaking out of the loop cancels the rest of the job on the server.
   * @throws {StreamError} when the server ends the stream with an error line
   */
  async *perplexityStream(
    req: PerplexityRequest,
    options: CallOptions = {},
  ): AsyncGenerator<StreamLine, void, undefined> {
    const signal = options.signal;
    const res = await this.#retrying(options, async () => {
      const sent = await this.#send(
        'POST',
        '/v1/perplexity',
        { ...req, stream: true },
        signal,
        false,
      );
      if (sent.statusCode !== 200) throw await apiError(sent);
      return sent;
    });
    let buffered = '';
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body) {
        buffered += decoder.decode(chunk as Buffer, { stream: true });
        let newline = buffered.indexOf('\n');
        while (newline >= 0) {
          const raw = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          newline = buffered.indexOf('\n');
          if (raw.trim() === '') continue;
          yield parseLine(raw);
        }
      }
    } catch (err) {
      throw err instanceof EnsembledPerplexityError ? err : transportError(err, signal);
    } finally {
      // Stopping early closes the connection, which tells the server to stop scoring.
      if (!res.body.destroyed) res.body.destroy();
    }
    if (buffered.trim() !== '') yield parseLine(buffered);
  }

  /** `GET /v1/models`: models, context lengths and backend health. */
  models(options: CallOptions = {}): Promise<ModelsResponse> {
    return this.#json<ModelsResponse>('GET', '/v1/models', undefined, options);
  }

  /** `GET /v1/calibration`: the calibration in force (or why there is none) and the served model set. */
  calibration(options: CallOptions = {}): Promise<CalibrationResponse> {
    return this.#json<CalibrationResponse>('GET', '/v1/calibration', undefined, options);
  }

  /** `GET /readyz`: whether enough models can serve. Answers (does not throw) when the server is not ready. */
  async ready(options: CallOptions = {}): Promise<ReadyResponse> {
    const res = await this.#send('GET', '/readyz', undefined, options.signal, true);
    if (res.statusCode !== 200 && res.statusCode !== 503) throw await apiError(res);
    return readJson<ReadyResponse>(res, options.signal);
  }

  /** `POST /ensemble_perplexity`: the earlier Python API's shape. */
  legacyPerplexity(
    prompts: string[],
    modelNames?: readonly string[],
    options: CallOptions = {},
  ): Promise<LegacyPerplexityResponse> {
    const query = modelNames ? `?model_names=${encodeURIComponent(modelNames.join(','))}` : '';
    return this.#json('POST', `/ensemble_perplexity${query}`, { prompts }, options);
  }

  /** `GET /ensemble_model_names`. */
  legacyModelNames(options: CallOptions = {}): Promise<string[]> {
    return this.#json('GET', '/ensemble_model_names', undefined, options);
  }

  /**
   * Scores `texts` (any number) as streamed requests and returns one outcome per text, in order. One bad text
   * never costs its neighbours: a 400 naming `texts[i]` puts the error on that text and resends the rest, a 413
   * splits the batch, and overload or backend trouble (429/502/503/504, lost connections, broken streams) is
   * retried, honouring `Retry-After`. Anything else (bad key, unknown model) is thrown.
   */
  scoreBatch(texts: readonly string[], options: BatchOptions = {}): Promise<TextOutcome[]> {
    return scoreBatch(this, texts, options);
  }

  /**
   * Scores a long (even endless or lazily read) sequence of texts with `scoreBatch`'s policy, `concurrency`
   * batches at a time, and yields each text's outcome in input order as soon as it and all before it are done.
   * Memory holds only the batches in flight. Breaking out of the loop cancels the rest.
   */
  scoreMany(
    texts: Iterable<string> | AsyncIterable<string>,
    options: ManyOptions = {},
  ): AsyncGenerator<TextOutcome, void, undefined> {
    return scoreMany(this, texts, options);
  }

  /** Closes the connection pool (waits for running calls). */
  close(): Promise<void> {
    return this.#pool.close();
  }

  async #json<T>(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    options: CallOptions,
  ): Promise<T> {
    return this.#retrying(options, async () => {
      const signal = this.#deadline(options.signal);
      const res = await this.#send(method, path, body, signal, true);
      if (res.statusCode < 200 || res.statusCode >= 300) throw await apiError(res);
      return readJson<T>(res, signal);
    });
  }

  /** Runs `call`, again after 429/503 as the retry options allow. */
  async #retrying<T>(options: CallOptions, call: () => Promise<T>): Promise<T> {
    const retry = options.retry ?? this.#retry;
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        const wait = retryDelayMs(err, attempt, retry, false);
        if (wait === undefined) throw err;
        try {
          await sleep(wait, options.signal);
        } catch (reason) {
          throw new EnsembledPerplexityError('EP_ABORTED', 'the call was aborted', {
            cause: reason,
          });
        }
      }
    }
  }

  async #send(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
    json: boolean,
  ): Promise<Dispatcher.ResponseData> {
    try {
      return await this.#pool.request({
        method,
        path: this.#prefix + path,
        headers: {
          ...JSON_HEADERS,
          ...(json ? {} : { accept: 'application/x-ndjson, application/json' }),
          ...this.#auth,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      throw transportError(err, signal);
    }
  }

  /** The caller's signal combined with the whole-call deadline. */
  #deadline(signal: AbortSignal | undefined): AbortSignal | undefined {
    if (this.#timeoutMs === 0) return signal;
    const deadline = AbortSignal.timeout(this.#timeoutMs);
    return signal ? AbortSignal.any([signal, deadline]) : deadline;
  }
}

function parseLine(raw: string): StreamLine {
  let line: unknown;
  try {
    line = JSON.parse(raw);
  } catch (err) {
    throw new EnsembledPerplexityError(
      'EP_BAD_RESPONSE',
      'the stream sent a line that is not JSON',
      {
        cause: err,
      },
    );
  }
  // A text's own error comes with its `index`; an error line without one ends the whole stream.
  if (line && typeof line === 'object' && 'error' in line && !('index' in line)) {
    const e = (line as { error: { type?: string; message?: string } }).error;
    throw new StreamError(e.type ?? 'unknown', e.message ?? 'the stream failed');
  }
  return line as StreamLine;
}

async function readJson<T>(
  res: Dispatcher.ResponseData,
  signal: AbortSignal | undefined,
): Promise<T> {
  let text: string;
  try {
    text = await res.body.text();
  } catch (err) {
    throw transportError(err, signal);
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new EnsembledPerplexityError(
      'EP_BAD_RESPONSE',
      `status ${res.statusCode} with a body that is not JSON`,
      { cause: err },
    );
  }
}

async function apiError(res: Dispatcher.ResponseData): Promise<ApiResponseError> {
  const text = await res.body.text().catch(() => '');
  const retryAfterSeconds = parseRetryAfter(res.headers['retry-after']);
  try {
    const { error } = JSON.parse(text) as {
      error: { type: string; message: string; param?: string };
    };
    return new ApiResponseError(
      res.statusCode,
      error.type,
      error.message,
      error.param,
      retryAfterSeconds,
    );
  } catch {
    return new ApiResponseError(
      res.statusCode,
      'http_error',
      text.slice(0, 200) || 'no body',
      undefined,
      retryAfterSeconds,
    );
  }
}

/** `Retry-After` in seconds: delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
function parseRetryAfter(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

function transportError(err: unknown, signal: AbortSignal | undefined): EnsembledPerplexityError {
  if (err instanceof EnsembledPerplexityError) return err;
  const code = (err as { code?: string }).code;
  const reason = signal?.aborted ? (signal.reason as { name?: string } | undefined) : undefined;
  if (
    reason?.name === 'TimeoutError' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT'
  ) {
    return new EnsembledPerplexityError('EP_TIMEOUT', 'no answer from the server in time', {
      cause: err,
    });
  }
  if (signal?.aborted || (err as { name?: string }).name === 'AbortError') {
    return new EnsembledPerplexityError('EP_ABORTED', 'the call was aborted', { cause: err });
  }
  return new EnsembledPerplexityError(
    'EP_CONNECTION',
    `cannot reach the server: ${(err as Error).message ?? String(err)}`,
    { cause: err },
  );
}
