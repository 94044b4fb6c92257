/**
 * @module
 * Turns the models' answers for one text into that text's result: per-model figures, the ensemble over the
 * models that answered (degraded when some did not), or the reason there is none. Pure: the whole-request
 * scorer and the streaming scorer share it, so a text gets the same result whichever way it was sent. Results
 * have the wire shape of `api/schemas.ts`; the models' scored tokens, when asked for, come beside the result
 * (`runs`) for the detection figures and `token_details`.
 */
import { BackendError } from '../backends/errors.ts';
import { ensembleFigures, modelFigures } from '../scoring/figures.ts';
import type { ModelFigures } from '../scoring/figures.ts';
import { TextScoringError } from '../scoring/text-error.ts';
import { utf8Bytes, wordCount } from '../scoring/text-stats.ts';
import type { TokenRun } from '../scoring/token-run.ts';
import type { ModelResult, TextError, TextResult } from '../api/schemas.ts';
import type { TextOutcome } from '../scheduler/text-score.ts';

/**
 * Completes a text's result from the models' scored tokens (the detection figures, `token_details`), in place.
 * Called once per text that has a result, as soon as it is combined.
 */
export type TextFinisher = (
  result: TextResult,
  text: string,
  runs: ReadonlyMap<string, TokenRun>,
) => void;

/** One model's answer for the text. */
export interface ModelOutcome {
  readonly name: string;
  readonly outcome: TextOutcome;
}

export interface CombineTextInput {
  /** Position of the text in the request. */
  readonly index: number;
  readonly text: string;
  /** The answers of the models that were asked, in the caller's model order. */
  readonly outcomes: readonly ModelOutcome[];
  /** Requested models that could not be asked (not discovered yet): missing for this text. */
  readonly unavailableModels?: readonly string[];
  /** Ensemble weight per model name (missing: 1). */
  readonly weights: ReadonlyMap<string, number>;
  /** Models that must answer for the text. */
  readonly minModels: number;
}

/** The text has a result (figures or its own error); it counts toward the response. */
export interface CombinedText {
  readonly ok: true;
  readonly result: TextResult;
  /** Tokens scored over the models that answered. */
  readonly tokens: number;
  readonly bytes: number;
  /** Models whose score came from the result cache. */
  readonly cacheHits: number;
  /** The scored tokens of each model in the ensemble, when the request asked for them. */
  readonly runs: ReadonlyMap<string, TokenRun>;
  /** Whether the text's ensemble misses a requested model. */
  readonly degraded: boolean;
}

/**
 * Backends failed and the text fell short of the quorum: the request as a whole fails (the caller throws its
 * `QuorumError` with this message and cause).
 */
export interface QuorumMissed {
  readonly ok: false;
  readonly message: string;
  readonly cause: BackendError;
}

export function combineText(input: CombineTextInput): CombinedText | QuorumMissed {
  const { index, text, outcomes, minModels } = input;
  const unavailable = input.unavailableModels ?? [];
  const counts = { bytes: utf8Bytes(text), words: wordCount(text) };
  const modelResults: Record<string, ModelResult> = {};
  const answered: { name: string; figures: ModelFigures; weight: number }[] = [];
  const missing: string[] = [];
  const runs = new Map<string, TokenRun>();
  let tokens = 0;
  let cacheHits = 0;
  let backendFailure: BackendError | undefined;
  let textFailure: TextError | undefined;
  const param = `texts[${index}]`;

  for (const { name, outcome } of outcomes) {
    if (outcome.ok) {
      const s = outcome.score;
      if (outcome.cached) cacheHits++;
      const figures = modelFigures(s.nll, s.tokens, counts, s.windows);
      if (!Number.isFinite(figures.perplexity) || !Number.isFinite(figures.bits_per_byte)) {
        missing.push(name);
        const error = {
          type: 'invalid_logprob',
          message: "the model's log-likelihood overflows",
          param,
        };
        modelResults[name] = { error };
        textFailure ??= error;
        continue;
      }
      modelResults[name] = figures;
      if (s.run) runs.set(name, s.run);
      answered.push({ name, figures, weight: input.weights.get(name) ?? 1 });
      tokens += s.tokens;
      continue;
    }
    missing.push(name);
    const error = { ...describeFailure(outcome.error), param };
    modelResults[name] = { error };
    if (outcome.error instanceof BackendError && outcome.error.code !== 'BACKEND_REJECTED') {
      backendFailure ??= outcome.error;
    } else {
      textFailure ??= error;
    }
  }
  for (const name of unavailable) {
    missing.push(name);
    modelResults[name] = {
      error: { type: 'backend_unavailable', message: `model ${name} is not ready`, param },
    };
    backendFailure ??= new BackendError('BACKEND_UNAVAILABLE', `model ${name} is not ready`, {
      backend: name,
    });
  }

  const done = (result: TextResult, degraded: boolean): CombinedText => ({
    ok: true,
    result,
    tokens,
    bytes: counts.bytes,
    cacheHits,
    degraded,
    runs,
  });

  if (answered.length >= minModels && answered.length > 0) {
    const degraded = missing.length > 0;
    // Key order is the reading order of the JSON: the ensemble first, then each model.
    const result: TextResult = {
      index,
      ensemble: {
        ...ensembleFigures(answered),
        models_used: answered.map((a) => a.name),
        degraded,
        missing_models: missing,
      },
      models: modelResults,
    };
    return done(result, degraded);
  }
  if (backendFailure && !textFailure) {
    const asked = outcomes.length + unavailable.length;
    return {
      ok: false,
      message: `text ${index}: ${answered.length} of ${asked} models answered, ${minModels} required (${backendFailure.message})`,
      cause: backendFailure,
    };
  }
  const result: TextResult = {
    index,
    models: modelResults,
    error: textFailure ?? { ...describeFailure(backendFailure), param },
  };
  return done(result, false);
}

/** The public face of a failure: a type and a message with no internal address in it. */
export function describeFailure(reason: unknown): TextError {
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
