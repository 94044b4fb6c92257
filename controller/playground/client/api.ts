/**
 * @module
 * The playground's calls to its own server: the key goes in the Authorization header and nowhere else.
 * Failures become an ApiError carrying the plain-words message the page shows.
 */
import type { ModelInfo, ScoreRequest, ScoreResponse, StreamLine } from './api-types.ts';
import { describeFailure, retryAfterSeconds } from './error-words.ts';
import type { ApiFailure } from './error-words.ts';
import { ndjsonLines } from './ndjson.ts';
import { calibrationInfo, NO_FEATURES, serverFeatures } from './server-features.ts';
import type { ServerFeatures } from './server-features.ts';

export class ApiError extends Error {
  override name = 'ApiError';
  readonly failure: ApiFailure;
  constructor(failure: ApiFailure) {
    super(describeFailure(failure));
    this.failure = failure;
  }
}

export class PlaygroundApi {
  readonly #base: URL;
  readonly #key: () => string;

  /** @param base the server's root (the page's own origin and path prefix) */
  constructor(base: URL, key: () => string) {
    this.#base = base;
    this.#key = key;
  }

  async models(): Promise<ModelInfo[]> {
    const body = (await this.#send('v1/models', { method: 'GET' })) as { data: ModelInfo[] };
    return body.data;
  }

  /**
   * What the scoring route accepts and the calibration it scores against; a server without an OpenAPI
   * document gets the basic controls.
   */
  async features(): Promise<ServerFeatures> {
    let features: ServerFeatures;
    try {
      features = serverFeatures(await this.#send('openapi.json', { method: 'GET' }));
    } catch {
      return NO_FEATURES;
    }
    if (!features.windowChars && !features.flagFpr && !features.spans) return features;
    try {
      const calibration = calibrationInfo(
        await this.#send('v1/calibration', { method: 'GET', headers: this.#keyHeader() }),
      );
      return calibration ? { ...features, calibration } : features;
    } catch {
      return features;
    }
  }

  async score(request: ScoreRequest, signal?: AbortSignal): Promise<ScoreResponse> {
    return (await this.#send('v1/perplexity', {
      method: 'POST',
      body: JSON.stringify(request),
      headers: this.#scoringHeaders('application/json'),
      signal,
    })) as ScoreResponse;
  }

  /** Streams a scoring job: yields each line (results in completion order, then the summary). */
  async *scoreStream(request: ScoreRequest, signal?: AbortSignal): AsyncGenerator<StreamLine> {
    const res = await this.#fetch('v1/perplexity', {
      method: 'POST',
      body: JSON.stringify({ ...request, stream: true }),
      headers: this.#scoringHeaders('application/x-ndjson'),
      signal,
    });
    if (!res.ok || !res.body) throw await failureOf(res);
    for await (const line of ndjsonLines(res.body)) {
      const value = line as StreamLine;
      if ('error' in value && !('index' in value))
        throw new ApiError({ status: 500, error: value.error });
      yield value;
    }
  }

  #scoringHeaders(accept: string): Record<string, string> {
    return { 'content-type': 'application/json', accept, ...this.#keyHeader() };
  }

  #keyHeader(): Record<string, string> {
    const key = this.#key().trim();
    return key ? { authorization: `Bearer ${key}` } : {};
  }

  async #send(path: string, init: RequestInit): Promise<unknown> {
    const res = await this.#fetch(path, init);
    if (!res.ok) throw await failureOf(res);
    return res.json();
  }

  async #fetch(path: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(new URL(path, this.#base), { ...init, credentials: 'omit' });
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      throw new ApiError({ status: 0 });
    }
  }
}

async function failureOf(res: Response): Promise<ApiError> {
  let error: ApiFailure['error'];
  try {
    error = ((await res.json()) as { error?: ApiFailure['error'] }).error;
  } catch {
    error = undefined;
  }
  const retry = retryAfterSeconds(res.headers.get('retry-after'));
  return new ApiError({
    status: res.status,
    ...(error ? { error } : {}),
    ...(retry !== undefined ? { retryAfterSeconds: retry } : {}),
  });
}
