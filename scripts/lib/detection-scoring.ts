/**
 * @module
 * Scores texts through any endpoint with `details: "tokens"` and returns what the detection math needs per
 * text: each answering model's tokens, weight and bits per byte. Calibration and the detection benchmark both
 * run the controller's own detection code on these, so they agree with the API by construction.
 */
import { request } from 'undici';
import type { TextResult } from '../../controller/api/schemas.ts';
import { answeredModels, wireRuns } from '../../controller/calibration/answered-models.ts';
import { scoreInBatches } from '../../controller/calibration/make-calibration.ts';
import type { ScoreBatch, ScoredText } from '../../controller/calibration/make-calibration.ts';
import type { ModelFingerprint } from '../../controller/calibration/model-set.ts';

export type { ScoredText };

export interface Endpoint {
  readonly url: string;
  readonly apiKey?: string;
}

interface PerplexityResponse {
  results: (TextResult & { error?: { message: string } })[];
}

class HttpStatusError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** A long run meets the odd 503 (a backend connection reset, a full queue): retried, a 4xx is not. */
async function withRetries<T>(fn: () => Promise<T>, attempts = 8): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      const retryable =
        !(err instanceof HttpStatusError) || err.status >= 500 || err.status === 429;
      if (!retryable || i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 2000 * i));
    }
  }
}

async function call<T>(
  endpoint: Endpoint,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<T> {
  const res = await request(new URL(path, endpoint.url), {
    method,
    headers: {
      'content-type': 'application/json',
      ...(endpoint.apiKey ? { authorization: `Bearer ${endpoint.apiKey}` } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    headersTimeout: 600_000,
    bodyTimeout: 600_000,
  });
  const text = await res.body.text();
  if (res.statusCode !== 200)
    throw new HttpStatusError(
      `${method} ${path}: ${res.statusCode} ${text.slice(0, 300)}`,
      res.statusCode,
    );
  return JSON.parse(text) as T;
}

/** The model set the endpoint serves, with weights (from `GET /v1/calibration`). */
export async function deploymentModels(
  endpoint: Endpoint,
): Promise<(ModelFingerprint & { weight: number })[]> {
  const status = await call<{
    deployment: { models: (ModelFingerprint & { weight: number })[] | null };
  }>(endpoint, 'GET', '/v1/calibration');
  if (!status.deployment.models)
    throw new Error(
      'the endpoint has not discovered every model yet; try again when /readyz is 200',
    );
  return status.deployment.models;
}

export interface ScoreOptions {
  /** Texts per request. @default 32 */
  readonly batch?: number;
  /** Requests in flight. @default 2 */
  readonly concurrency?: number;
  readonly weights: ReadonlyMap<string, number>;
  readonly onProgress?: (done: number, total: number) => void;
}

/** Scores one batch through the endpoint (one request, retried on a 5xx or 429). */
export function scoreBatchOverHttp(
  endpoint: Endpoint,
  weights: ReadonlyMap<string, number>,
): ScoreBatch {
  return async (texts) => {
    const res = await withRetries(() =>
      call<PerplexityResponse>(endpoint, 'POST', '/v1/perplexity', {
        texts,
        details: 'tokens',
      }),
    );
    const out = texts.map((text): ScoredText => ({ text, models: [] }));
    for (const r of res.results) {
      if (!r.error)
        out[r.index] = {
          text: texts[r.index] as string,
          models: answeredModels(r, wireRuns(r), weights),
        };
    }
    return out;
  };
}

export async function scoreForDetection(
  endpoint: Endpoint,
  texts: readonly string[],
  options: ScoreOptions,
): Promise<ScoredText[]> {
  const { weights, ...batching } = options;
  return scoreInBatches(texts, scoreBatchOverHttp(endpoint, weights), batching);
}
