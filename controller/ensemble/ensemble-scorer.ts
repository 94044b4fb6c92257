/**
 * @module
 * Scores a request's texts with every requested model and combines the answers: per text, the models that
 * answered form the ensemble (flagged degraded when some did not); backend failures that leave a text short of
 * the quorum fail the request as a whole, input problems stay on their text.
 */
import type { PerplexityResponse, TextResult } from '../api/schemas.ts';
import type { BackendError } from '../backends/errors.ts';
import type { ModelScheduler } from '../scheduler/model-scheduler.ts';
import { textDigest } from '../scheduler/result-cache.ts';
import type { TextOutcome } from '../scheduler/text-score.ts';
import { combineText } from './combine-text.ts';
import type { TextFinisher } from './combine-text.ts';

export interface EnsembleRequest {
  texts: readonly string[];
  /** Schedulers of the requested models, in the order the caller named them. */
  models: readonly ModelScheduler[];
  /** Requested models that cannot score now (not discovered yet): missing for every text. */
  unavailableModels?: readonly string[];
  /** Ensemble weight per model name (missing: 1). */
  weights: ReadonlyMap<string, number>;
  /** Models that must answer for a text. */
  minModels: number;
  /** The models return their scored tokens (for `finishText`). */
  withDetail: boolean;
  /** Completes each text's result from the models' tokens. @default - nothing */
  finishText?: TextFinisher;
  /** Store new scores in the result cache. @default true */
  store?: boolean;
  signal: AbortSignal;
  /** Time the request has (admission refuses what the queue could not finish in it). @default - not checked */
  deadlineMs?: number;
  /** Who asks (API key id): the unit of fairness in the model queues. @default '' */
  tenant?: string;
}

/** The response to the request: the wire shape of `POST /v1/perplexity` (`cache_hits` always set). */
export type EnsembleResponse = PerplexityResponse;

/** The request could not reach its quorum because backends failed. */
export class QuorumError extends Error {
  override name = 'QuorumError';
  /** The first backend failure behind it (decides 503 vs 504). */
  override readonly cause: BackendError;
  constructor(message: string, cause: BackendError) {
    super(message);
    this.cause = cause;
  }
}

/** Texts handled in one go before a large request lets the event loop serve others. */
const YIELD_EVERY = 256;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Scores every text with every model and combines them.
 * @throws {QueueFullError} before any work is queued, when a model's queue cannot take the request
 * @throws {QuorumError} when backend failures leave a text short of `minModels`
 */
export async function scoreEnsemble(request: EnsembleRequest): Promise<EnsembleResponse> {
  const { texts, models, signal } = request;
  // Admission first, for every model, so a refused request leaves nothing queued behind it.
  const admit = {
    tokens: estimatedTokens(texts),
    ...(request.deadlineMs !== undefined ? { deadlineMs: request.deadlineMs } : {}),
    ...(request.tenant !== undefined ? { tenant: request.tenant } : {}),
  };
  for (const m of models) m.admit(texts.length, admit);
  // One hash per text, shared by every model's cache lookup.
  const digests = models.some((m) => m.cacheEnabled) ? texts.map(textDigest) : undefined;
  const pending: Promise<TextOutcome[]>[] = [];
  for (const m of models) {
    // A large request hands its texts to one model per turn of the event loop, so other requests are served in
    // between (each hand-over is a few ms per thousand texts).
    if (pending.length > 0 && texts.length > YIELD_EVERY) await nextTurn();
    pending.push(
      m.scoreTexts(texts, {
        withDetail: request.withDetail,
        signal,
        store: request.store !== false,
        ...(digests ? { digests } : {}),
        ...(request.tenant !== undefined ? { tenant: request.tenant } : {}),
      }),
    );
  }
  const perModel = await Promise.all(pending);
  const used = new Set<string>();
  let degraded = false;
  let tokensTotal = 0;
  let bytesTotal = 0;
  let cacheHits = 0;
  const results: TextResult[] = new Array(texts.length);
  for (let i = 0; i < texts.length; i++) {
    if (i > 0 && i % YIELD_EVERY === 0) await nextTurn();
    const text = texts[i] as string;
    const combined = combineText({
      index: i,
      text,
      outcomes: models.map((m, k) => ({
        name: m.info.name,
        outcome: (perModel[k] as TextOutcome[])[i] as TextOutcome,
      })),
      ...(request.unavailableModels ? { unavailableModels: request.unavailableModels } : {}),
      weights: request.weights,
      minModels: request.minModels,
    });
    if (!combined.ok) throw new QuorumError(combined.message, combined.cause);
    request.finishText?.(combined.result, text, combined.runs);
    results[i] = combined.result;
    tokensTotal += combined.tokens;
    bytesTotal += combined.bytes;
    cacheHits += combined.cacheHits;
    degraded ||= combined.degraded;
    for (const name of combined.result.ensemble?.models_used ?? []) used.add(name);
  }
  return {
    results,
    models_used: [...used],
    degraded,
    usage: { texts: texts.length, tokens: tokensTotal, bytes: bytesTotal, cache_hits: cacheHits },
  };
}

/** Rough prompt tokens of texts for admission (the scheduler's own estimate: a token per three UTF-8 bytes). */
function estimatedTokens(texts: readonly string[]): number {
  let bytes = 0;
  for (const t of texts) bytes += Buffer.byteLength(t, 'utf8');
  return Math.ceil(bytes / 3) + 2 * texts.length;
}
