/**
 * @module
 * Scores texts through any endpoint with `details: "tokens"` and returns what the detection math needs per
 * text: each answering model's tokens, weight and bits per byte. Calibration and the detection benchmark both
 * run the controller's own detection code on these, so they agree with the API by construction.
 */
import { request } from 'undici';
import type { AnsweredModel } from '../../controller/calibration/detection-figures.ts';
import type { ModelFingerprint } from '../../controller/calibration/model-set.ts';
import { runOfTokens } from '../../controller/scoring/token-run.ts';

export interface Endpoint {
  readonly url: string;
  readonly apiKey?: string;
}

export interface ScoredText {
  readonly text: string;
  /** The models that answered, in the endpoint's order; empty when the text has no result. */
  readonly models: AnsweredModel[];
}

interface TokenDetail {
  text: string | null;
  logprob: number;
}
interface PerplexityResponse {
  results: {
    index: number;
    error?: { message: string };
    models: Record<string, { bits_per_byte?: number; token_details?: TokenDetail[] }>;
  }[];
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

export async function scoreForDetection(
  endpoint: Endpoint,
  texts: readonly string[],
  options: ScoreOptions,
): Promise<ScoredText[]> {
  const batch = options.batch ?? 32;
  const out: ScoredText[] = new Array<ScoredText>(texts.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < texts.length) {
      const start = next;
      next += batch;
      const slice = texts.slice(start, start + batch);
      const res = await withRetries(() =>
        call<PerplexityResponse>(endpoint, 'POST', '/v1/perplexity', {
          texts: slice,
          details: 'tokens',
        }),
      );
      for (const r of res.results) {
        const text = slice[r.index] as string;
        const models: AnsweredModel[] = [];
        if (!r.error) {
          for (const [name, m] of Object.entries(r.models)) {
            if (m.token_details && typeof m.bits_per_byte === 'number') {
              models.push({
                name,
                weight: options.weights.get(name) ?? 1,
                bits_per_byte: m.bits_per_byte,
                run: runOfTokens(m.token_details),
              });
            }
          }
        }
        out[start + r.index] = { text, models };
      }
      done += slice.length;
      options.onProgress?.(done, texts.length);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 2 }, worker));
  return out;
}
