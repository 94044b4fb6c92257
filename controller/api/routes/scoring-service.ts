/**
 * @module
 * The steps every scoring route shares, written once: check the text bytes, resolve the requested models, score
 * (whole or streamed), charge the scored tokens to the API key and count the texts on the request's tally. The
 * routes only translate their request into a `ScoreTextsRequest` and the result into their wire format.
 */
import type { Context } from 'hono';
import type { ControllerConfig } from '../../config.ts';
import { scoreEnsemble } from '../../ensemble/ensemble-scorer.ts';
import { streamEnsemble } from '../../ensemble/ensemble-stream.ts';
import type { CalibrationSource } from '../../calibration/calibration-source.ts';
import type { ModelRegistry } from '../../models/model-registry.ts';
import { chargeScoredTokens } from '../middleware/api-key-auth.ts';
import { scoringTally } from '../request-context.ts';
import { detailOptions, finishResult } from '../result-details.ts';
import type { DetailRequest, ResultDetailsOptions } from '../result-details.ts';
import type { PerplexityResponse, ResponseSummary, TextResult } from '../schemas.ts';
import { checkTotalBytes, requestSignal, resolveModels } from './selection.ts';
import type { ModelSelection } from './selection.ts';
import type { TokenRun } from '../../scoring/token-run.ts';

export interface ScoreTextsRequest {
  readonly texts: readonly string[];
  /** @default - every model */
  readonly models?: string[] | undefined;
  /** @default - the server's `minModels`, at most the number of requested models */
  readonly minModels?: number | undefined;
  /** Ensemble weight per model name. @default - each model's configured weight */
  readonly weights?: Record<string, number> | undefined;
  readonly withDetail: boolean;
  /** Store the scores in the result cache (`"cache": false` opts out; bulk requests never store). @default true */
  readonly cache?: boolean | undefined;
  /**
   * Detection figures (windows, percentiles, spans, flags) for each text: every model then returns its tokens,
   * which are sent on only when `details` asks for them. @default - none (the legacy route)
   */
  readonly detection?: DetailRequest;
  /** Deadline in ms: of the whole request, or of each text when streamed. @default - `timeouts.requestMs` */
  readonly timeoutMs?: number | undefined;
}

/** The request fields that 4xx errors name (the legacy route calls them differently). */
export interface RequestParams {
  readonly texts: string;
  readonly models: string;
  readonly minModels: string;
  readonly weights: string;
}

const PARAMS: RequestParams = {
  texts: 'texts',
  models: 'models',
  minModels: 'min_models',
  weights: 'weights',
};

/** A streamed request's results, the first already scored (see `ScoringService.stream`). */
export interface TextStream {
  /** The next text's result in completion order; done with the request's summary. */
  next(): Promise<IteratorResult<TextResult, ResponseSummary>>;
  /** Stops scoring what is still in flight (the client went away). */
  cancel(): Promise<void>;
}

/** Largest share of a model's queue one stream may hold, so a big job leaves room for other requests. */
const MAX_QUEUE_SHARE = 0.25;

/**
 * Texts a stream keeps in flight: enough for every backend of a model to have full batches in flight and the
 * next ones growing (twice the in-flight capacity), but at most a quarter of the model's queue.
 */
export function streamWindow(config: ControllerConfig): number {
  const { maxBatchPrompts, maxInflightPerBackend, maxQueuedTexts } = config.scheduler;
  const replicas = Math.max(1, ...config.models.map((m) => m.backends.length));
  const capacity = 2 * maxBatchPrompts * maxInflightPerBackend * replicas;
  return Math.max(1, Math.min(capacity, Math.floor(maxQueuedTexts * MAX_QUEUE_SHARE)));
}

export class ScoringService {
  readonly #config: ControllerConfig;
  readonly #registry: ModelRegistry;
  readonly #calibration: CalibrationSource | undefined;

  constructor(config: ControllerConfig, registry: ModelRegistry, calibration?: CalibrationSource) {
    this.#config = config;
    this.#registry = registry;
    this.#calibration = calibration;
  }

  /** Scores every text before answering; results in request order. */
  async score(
    c: Context,
    request: ScoreTextsRequest,
    params: RequestParams = PARAMS,
  ): Promise<PerplexityResponse> {
    const selection = this.#select(request, this.#config.limits.maxTotalTextBytes, params);
    const finish = this.#finisher(request, selection);
    const deadlineMs = request.timeoutMs ?? this.#config.timeouts.requestMs;
    const response = await scoreEnsemble({
      ...ensembleInput(request, selection, this.#config, finish),
      signal: requestSignal(c.req.raw.signal, deadlineMs),
      deadlineMs,
      tenant: c.get('keyId') ?? '',
    });
    chargeScoredTokens(c, response.usage.tokens);
    for (const result of response.results) countText(c, result);
    return response;
  }

  /**
   * Scores the texts as a stream. Resolves once the first text is scored, so a request that cannot start
   * (quorum missed at once, queue full) still throws, for a proper status instead of a 200 with an error line.
   */
  async stream(
    c: Context,
    request: ScoreTextsRequest,
    params: RequestParams = PARAMS,
  ): Promise<TextStream> {
    const config = this.#config;
    const selection = this.#select(request, config.limits.maxStreamBodyBytes, params);
    const finish = this.#finisher(request, selection);
    // Typed as an iterator, whose `return` needs no summary: cancelling has none.
    const results: AsyncIterator<TextResult, ResponseSummary, undefined> = streamEnsemble({
      ...ensembleInput(request, selection, config, finish),
      signal: c.req.raw.signal,
      textTimeoutMs: request.timeoutMs ?? config.timeouts.requestMs,
      window: streamWindow(config),
      tenant: c.get('keyId') ?? '',
      // Tokens are charged as texts complete, even if the client leaves before reading them: the work was done.
      onTokens: (tokens) => chargeScoredTokens(c, tokens),
    });
    let pending: IteratorResult<TextResult, ResponseSummary> | undefined;
    try {
      pending = await results.next();
    } catch (err) {
      await results.return?.().catch(() => {});
      throw err;
    }
    return {
      async next() {
        const next = pending ?? (await results.next());
        pending = undefined;
        if (!next.done) countText(c, next.value);
        return next;
      },
      async cancel() {
        await results.return?.();
      },
    };
  }

  /** The detection options of the request, with the calibration in force when it arrived. */
  #finisher(
    request: ScoreTextsRequest,
    selection: ModelSelection,
  ): ResultDetailsOptions | undefined {
    if (!request.detection) return undefined;
    return detailOptions(request.detection, this.#calibration?.current ?? null, selection.weights);
  }

  #select(request: ScoreTextsRequest, maxBytes: number, params: RequestParams): ModelSelection {
    checkTotalBytes(request.texts, maxBytes, params.texts);
    return resolveModels(
      this.#registry,
      this.#config,
      { models: request.models, minModels: request.minModels, weights: request.weights },
      params,
    );
  }
}

function ensembleInput(
  request: ScoreTextsRequest,
  selection: ModelSelection,
  config: ControllerConfig,
  details: ResultDetailsOptions | undefined,
) {
  const bulk = request.texts.length > config.cache.maxStoredTextsPerRequest;
  return {
    store: request.cache !== false && !bulk,
    texts: request.texts,
    models: selection.schedulers,
    unavailableModels: selection.unavailable,
    weights: selection.weights,
    minModels: selection.minModels,
    // Windows need every model's tokens, whatever the request shows of them.
    withDetail: request.withDetail || details !== undefined,
    ...(details
      ? {
          finishText: (result: TextResult, text: string, runs: ReadonlyMap<string, TokenRun>) =>
            finishResult(result, text, runs, details),
        }
      : {}),
  };
}

/** Counts a text handed to the client on the request's tally (the request log and metrics read it). */
function countText(c: Context, result: TextResult): void {
  scoringTally(c).addText(result.models, result.ensemble?.degraded ?? false);
}
