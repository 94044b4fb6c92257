/**
 * @module
 * Scores a request's texts with every requested model and combines the answers: per text, the models that
 * answered form the ensemble (flagged degraded when some did not); backend failures that leave a text short of
 * the quorum fail the request as a whole, input problems stay on their text.
 */
import { BackendError } from '../backends/errors.ts';
import { ensembleFigures, modelFigures } from '../scoring/figures.ts';
import type { EnsembleFigures, ModelFigures } from '../scoring/figures.ts';
import type { TokenLogprob } from '../scoring/logprobs.ts';
import { TextScoringError } from '../scoring/text-error.ts';
import { utf8Bytes, wordCount } from '../scoring/text-stats.ts';
import type { ModelScheduler } from './model-scheduler.ts';
import { textDigest } from './result-cache.ts';
import type { TextOutcome } from './text-score.ts';

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
  withDetail: boolean;
  signal: AbortSignal;
}

export interface TextError {
  type: string;
  message: string;
}

export type ModelResult =
  (ModelFigures & { token_details?: TokenLogprob[] }) | { error: TextError };

export interface TextResult {
  index: number;
  ensemble?: EnsembleFigures & {
    models_used: string[];
    degraded: boolean;
    missing_models: string[];
  };
  models: Record<string, ModelResult>;
  error?: TextError;
}

export interface EnsembleResponse {
  results: TextResult[];
  models_used: string[];
  degraded: boolean;
  usage: {
    texts: number;
    tokens: number;
    bytes: number;
    /** (text, model) scores answered from the result cache (always set by `scoreEnsemble`). */
    cache_hits?: number;
  };
}

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

/**
 * Scores every text with every model and combines them.
 * @throws {QueueFullError} before any work is queued, when a model's queue cannot take the request
 * @throws {QuorumError} when backend failures leave a text short of `minModels`
 */
export async function scoreEnsemble(request: EnsembleRequest): Promise<EnsembleResponse> {
  const { texts, models, signal } = request;
  // Admission first, for every model, so a refused request leaves nothing queued behind it.
  for (const m of models) m.admit(texts.length);
  // One hash per text, shared by every model's cache lookup.
  const digests = models.some((m) => m.cacheEnabled) ? texts.map(textDigest) : undefined;
  const perModel = await Promise.all(
    models.map((m) =>
      m.scoreTexts(texts, {
        withDetail: request.withDetail,
        signal,
        ...(digests ? { digests } : {}),
      }),
    ),
  );
  const used = new Set<string>();
  let degraded = false;
  let tokensTotal = 0;
  let bytesTotal = 0;
  let cacheHits = 0;
  const results: TextResult[] = new Array(texts.length);
  for (let i = 0; i < texts.length; i++) {
    const text = texts[i] as string;
    const counts = { bytes: utf8Bytes(text), words: wordCount(text) };
    bytesTotal += counts.bytes;
    const modelResults: Record<string, ModelResult> = {};
    const answered: { name: string; figures: ModelFigures; weight: number }[] = [];
    const missing: string[] = [];
    let backendFailure: BackendError | undefined;
    let textFailure: TextError | undefined;
    for (let m = 0; m < models.length; m++) {
      const name = (models[m] as ModelScheduler).info.name;
      const outcome = (perModel[m] as TextOutcome[])[i] as TextOutcome;
      if (outcome.ok) {
        const s = outcome.score;
        if (outcome.cached) cacheHits++;
        const figures = modelFigures(s.nll, s.tokens, counts, s.windows);
        if (!Number.isFinite(figures.perplexity) || !Number.isFinite(figures.bits_per_byte)) {
          missing.push(name);
          const error = {
            type: 'invalid_logprob',
            message: "the model's log-likelihood overflows",
          };
          modelResults[name] = { error };
          textFailure ??= error;
          continue;
        }
        modelResults[name] = s.detail ? { ...figures, token_details: s.detail } : figures;
        answered.push({ name, figures, weight: request.weights.get(name) ?? 1 });
        tokensTotal += s.tokens;
        continue;
      }
      missing.push(name);
      const error = describeFailure(outcome.error);
      modelResults[name] = { error };
      if (outcome.error instanceof BackendError && outcome.error.code !== 'BACKEND_REJECTED') {
        backendFailure ??= outcome.error;
      } else {
        textFailure ??= error;
      }
    }
    for (const name of request.unavailableModels ?? []) {
      missing.push(name);
      modelResults[name] = {
        error: { type: 'backend_unavailable', message: `model ${name} is not ready` },
      };
      backendFailure ??= new BackendError('BACKEND_UNAVAILABLE', `model ${name} is not ready`, {
        backend: name,
      });
    }
    const result: TextResult = { index: i, models: modelResults };
    if (answered.length >= request.minModels && answered.length > 0) {
      const isDegraded = missing.length > 0;
      degraded ||= isDegraded;
      for (const a of answered) used.add(a.name);
      result.ensemble = {
        ...ensembleFigures(answered),
        models_used: answered.map((a) => a.name),
        degraded: isDegraded,
        missing_models: missing,
      };
    } else if (backendFailure && !textFailure) {
      throw new QuorumError(
        `text ${i}: ${answered.length} of ${models.length + (request.unavailableModels?.length ?? 0)} models answered, ${request.minModels} required (${backendFailure.message})`,
        backendFailure,
      );
    } else {
      result.error = textFailure ??
        describeFailure(backendFailure) ?? {
          type: 'scoring_error',
          message: 'no model could score the text',
        };
    }
    results[i] = result;
  }
  return {
    results,
    models_used: [...used],
    degraded,
    usage: { texts: texts.length, tokens: tokensTotal, bytes: bytesTotal, cache_hits: cacheHits },
  };
}

function describeFailure(reason: unknown): TextError {
  if (reason instanceof TextScoringError) return { type: reason.code, message: reason.message };
  if (reason instanceof BackendError) {
    const type =
      reason.code === 'DEADLINE_EXCEEDED'
        ? 'deadline_exceeded'
        : reason.code === 'CANCELLED'
          ? 'cancelled'
          : reason.code === 'BACKEND_REJECTED'
            ? 'text_rejected'
            : 'backend_unavailable';
    // Backend messages may carry internal addresses; keep only the kind of failure.
    return { type, message: publicBackendMessage(reason) };
  }
  return { type: 'internal_error', message: 'internal error while scoring' };
}

function publicBackendMessage(err: BackendError): string {
  switch (err.code) {
    case 'DEADLINE_EXCEEDED':
      return 'the deadline passed before the model answered';
    case 'CANCELLED':
      return 'the request was cancelled';
    case 'BACKEND_REJECTED':
      return err.message;
    default:
      return 'the model backend failed';
  }
}
