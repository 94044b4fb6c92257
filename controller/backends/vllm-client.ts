/**
 * @module
 * HTTP client for one vLLM (or local-lm) backend: a keep-alive undici pool, AbortSignal deadlines carried into
 * every call, both error-body formats, and hand-checked response shapes.
 */
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import { BackendError, describeBackendRefusal, parseVllmErrorBody } from './errors.ts';
import { sharedParsePool } from './parse-pool.ts';
import type { ParsePool } from './parse-pool.ts';
import { toScoredChoice } from './scored-choice.ts';
import type { ScoredChoice } from './scored-choice.ts';
import type {
  CompletionChoice,
  CompletionRequest,
  ModelCard,
  PromptLogprobs,
  TokenizeResponse,
} from './vllm-types.ts';

export interface VllmClientOptions {
  /** Base URL without `/v1`, e.g. `http://127.0.0.1:8001`. */
  readonly baseUrl: string;
  /** Name for logs and health state (never the URL in public output). @default - the base URL */
  readonly label?: string;
  /** TCP connect timeout in ms. @default 5000 */
  readonly connectTimeoutMs?: number;
  /** Keep-alive sockets to the backend. @default 32 */
  readonly connections?: number;
  /** Where scoring answers are read. @default - the process's shared pool of worker threads */
  readonly parsePool?: ParsePool;
}

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };

export class VllmClient {
  readonly baseUrl: string;
  readonly label: string;
  readonly #pool: Pool;
  readonly #parsePool: ParsePool;

  constructor(options: VllmClientOptions) {
    this.#parsePool = options.parsePool ?? sharedParsePool();
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.label = options.label ?? this.baseUrl;
    this.#pool = new Pool(this.baseUrl, {
      connections: options.connections ?? 32,
      connect: { timeout: options.connectTimeoutMs ?? 5_000 },
      // Deadlines come from the caller's AbortSignal; undici's own 300 s timers stay as a backstop.
      keepAliveTimeout: 10_000,
      pipelining: 1,
    });
  }

  /** `GET /v1/models`. */
  async models(signal?: AbortSignal): Promise<ModelCard[]> {
    const json = await this.#call('GET', '/v1/models', undefined, signal);
    const data = (json as { data?: unknown }).data;
    if (!Array.isArray(data)) throw this.#badResponse('/v1/models without a data list');
    return data.map((card: unknown) => {
      const c = card as Record<string, unknown>;
      if (typeof c.id !== 'string') throw this.#badResponse('/v1/models entry without an id');
      return {
        id: c.id,
        ...(typeof c.max_model_len === 'number' ? { max_model_len: c.max_model_len } : {}),
        ...(typeof c.root === 'string' ? { root: c.root } : {}),
      };
    });
  }

  /** `POST /tokenize` of one text. */
  async tokenize(
    model: string,
    text: string,
    addSpecialTokens: boolean,
    signal?: AbortSignal,
  ): Promise<TokenizeResponse> {
    const json = (await this.#call(
      'POST',
      '/tokenize',
      { model, prompt: text, add_special_tokens: addSpecialTokens },
      signal,
    )) as Record<string, unknown>;
    const tokens = json.tokens;
    if (!isIntArray(tokens)) throw this.#badResponse('/tokenize answer without integer tokens');
    return {
      count: tokens.length,
      tokens,
      ...(typeof json.max_model_len === 'number' ? { max_model_len: json.max_model_len } : {}),
    };
  }

  /**
   * `POST /v1/completions` scoring the prompts; returns one choice per prompt, in prompt order.
   * @throws {BackendError} on any failure, including a response that does not match the prompts.
   */
  async completions(request: CompletionRequest, signal?: AbortSignal): Promise<CompletionChoice[]> {
    const json = await this.#call('POST', '/v1/completions', request, signal);
    return this.#checkChoices(json, request);
  }

  #checkChoices(body: unknown, request: CompletionRequest): CompletionChoice[] {
    const choices = (body as Record<string, unknown> | null)?.choices;
    if (!Array.isArray(choices) || choices.length !== request.prompt.length) {
      throw this.#badResponse(
        `/v1/completions returned ${Array.isArray(choices) ? choices.length : 'no'} choices for ${request.prompt.length} prompts`,
      );
    }
    const ordered: CompletionChoice[] = new Array(choices.length);
    for (const raw of choices as Array<Record<string, unknown>>) {
      const index = raw?.index;
      if (
        typeof index !== 'number' ||
        !Number.isInteger(index) ||
        index < 0 ||
        index >= choices.length ||
        ordered[index] !== undefined
      ) {
        throw this.#badResponse(
          '/v1/completions choice with a missing, duplicate or out-of-range index',
        );
      }
      if (!Array.isArray(raw.prompt_logprobs)) {
        throw this.#badResponse(`/v1/completions choice ${index} has no prompt_logprobs`);
      }
      if (!isIntArray(raw.prompt_token_ids)) {
        throw this.#badResponse(`/v1/completions choice ${index} has no prompt_token_ids`);
      }
      if (raw.prompt_logprobs.length !== raw.prompt_token_ids.length) {
        throw this.#badResponse(
          `/v1/completions choice ${index}: ${raw.prompt_logprobs.length} logprob positions for ${raw.prompt_token_ids.length} tokens`,
        );
      }
      ordered[index] = {
        index,
        prompt_token_ids: raw.prompt_token_ids,
        prompt_logprobs: raw.prompt_logprobs as PromptLogprobs,
      };
    }
    return ordered;
  }

  /**
   * `POST /v1/completions` for scoring: the compact answer (ids, actual-token logprobs and, with
   * `withTokenTexts`, their decoded texts per prompt). Read with the fast scanner (in a worker thread for large
   * answers), or with `JSON.parse` when the scanner does not know the shape.
   * @throws {BackendError} on any failure, including a response that does not match the prompts.
   */
  async scorePrompts(
    request: CompletionRequest,
    signal: AbortSignal | undefined,
    withTokenTexts: boolean,
  ): Promise<ScoredChoice[]> {
    const bytes = await this.#callBytes('POST', '/v1/completions', request, signal);
    let outcome;
    try {
      outcome = await this.#parsePool.parse(bytes, request.prompt.length, withTokenTexts);
    } catch (err) {
      throw new BackendError('BACKEND_BAD_RESPONSE', 'the answer could not be read', {
        backend: this.label,
        status: 200,
        cause: err,
      });
    }
    if (outcome.choices) return outcome.choices;
    const text = outcome.bytes.toString('utf8');
    const choices = this.#checkChoices(this.#parse('/v1/completions', text), request);
    return choices.map((c) => toScoredChoice(c, withTokenTexts));
  }

  /** `GET /health`: resolves when the backend says it is healthy. */
  async health(signal?: AbortSignal): Promise<void> {
    await this.#call('GET', '/health', undefined, signal, false);
  }

  async close(): Promise<void> {
    await this.#pool.destroy();
  }

  async #call(
    method: Dispatcher.HttpMethod,
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
    expectJson = true,
  ): Promise<unknown> {
    const text = await this.#callText(method, path, body, signal);
    return expectJson ? this.#parse(path, text) : undefined;
  }

  #parse(path: string, text: string): unknown {
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new BackendError('BACKEND_BAD_RESPONSE', `${path} answered with invalid JSON`, {
        backend: this.label,
        status: 200,
        cause: err,
      });
    }
  }

  /** The answer's text, or a BackendError for transport failures and statuses ≥ 400. */
  async #callText(
    method: Dispatcher.HttpMethod,
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
  ): Promise<string> {
    return (await this.#callBytes(method, path, body, signal)).toString('utf8');
  }

  /** The answer's bytes, or a BackendError for transport failures and statuses ≥ 400. */
  async #callBytes(
    method: Dispatcher.HttpMethod,
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
  ): Promise<Buffer> {
    let response: Dispatcher.ResponseData;
    try {
      response = await this.#pool.request({
        method,
        path,
        headers: JSON_HEADERS,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      throw this.#transportError(err, signal);
    }
    let bytes: Buffer;
    try {
      bytes = Buffer.from(await response.body.arrayBuffer());
    } catch (err) {
      throw this.#transportError(err, signal);
    }
    const status = response.statusCode;
    if (status >= 400) {
      const parsed = parseVllmErrorBody(bytes.toString('utf8'));
      const code = status >= 500 ? 'BACKEND_SERVER_ERROR' : 'BACKEND_REJECTED';
      throw new BackendError(code, `${path}: ${describeBackendRefusal(status, parsed)}`, {
        backend: this.label,
        status,
        ...(parsed.param ? { param: parsed.param } : {}),
      });
    }
    return bytes;
  }

  #transportError(err: unknown, signal: AbortSignal | undefined): BackendError {
    if (signal?.aborted) {
      const reason = signal.reason as { name?: string } | undefined;
      const timedOut = reason?.name === 'TimeoutError';
      return new BackendError(
        timedOut ? 'DEADLINE_EXCEEDED' : 'CANCELLED',
        timedOut ? 'deadline exceeded waiting for the backend' : 'request cancelled',
        { backend: this.label, cause: err },
      );
    }
    const code = (err as { code?: string }).code ?? 'unknown';
    return new BackendError('BACKEND_UNAVAILABLE', `backend unreachable (${code})`, {
      backend: this.label,
      cause: err,
    });
  }

  #badResponse(message: string): BackendError {
    return new BackendError('BACKEND_BAD_RESPONSE', message, { backend: this.label });
  }
}

function isIntArray(value: unknown): value is number[] {
  if (!Array.isArray(value)) return false;
  for (const v of value) if (typeof v !== 'number' || !Number.isInteger(v)) return false;
  return true;
}
