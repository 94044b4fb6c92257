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
import type { ModelScheduler, ModelTextScore } from './model-scheduler.ts';

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
  usage: { texts: number; tokens: number; bytes: number };
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

export async function scoreEnsemble(request: EnsembleRequest): Promise<EnsembleResponse> {
  const { texts, models, signal } = request;
  const perModel = await Promise.all(
    models.map((m) =>
      Promise.allSettled(
        texts.map((t) => m.scoreText(t, { withDetail: request.withDetail, signal })),
      ),
    ),
  );
  const used = new Set<string>();
  let degraded = false;
  let tokensTotal = 0;
  let bytesTotal = 0;
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
      const settled = (perModel[m] as PromiseSettledResult<ModelTextScore>[])[
        i
      ] as PromiseSettledResult<ModelTextScore>;
      if (settled.status === 'fulfilled') {
        const s = settled.value;
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
      const error = describeFailure(settled.reason);
      modelResults[name] = { error };
      if (settled.reason instanceof BackendError && settled.reason.code !== 'BACKEND_REJECTED') {
        backendFailure ??= settled.reason;
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
    usage: { texts: texts.length, tokens: tokensTotal, bytes: bytesTotal },
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
