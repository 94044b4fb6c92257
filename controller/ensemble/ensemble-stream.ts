/**
 * @module
 * The streaming form of `scoreEnsemble`: an async generator that yields each text's result as soon as every
 * model has answered for it, in completion order, and returns the request's summary. Only a window of texts is
 * in flight at once and nothing is kept after it is yielded, so memory stays flat however many texts a job has;
 * a slow consumer holds the window full and so pauses scoring (backpressure reaches the backends).
 */
import { setMaxListeners } from 'node:events';
import type { ResponseSummary, TextResult } from '../api/schemas.ts';
import type { ModelScheduler } from '../scheduler/model-scheduler.ts';
import type { TextOutcome } from '../scheduler/text-score.ts';
import { combineText } from './combine-text.ts';
import type { ModelOutcome, TextFinisher } from './combine-text.ts';
import { QuorumError } from './ensemble-scorer.ts';

export interface EnsembleStreamRequest {
  /** Texts to score; read lazily, one as each window slot frees up. */
  readonly texts: Iterable<string>;
  /** Schedulers of the requested models, in the order the caller named them. */
  readonly models: readonly ModelScheduler[];
  /** Requested models that cannot score now: missing for every text. @default - none */
  readonly unavailableModels?: readonly string[];
  /** Ensemble weight per model name (missing: 1). */
  readonly weights: ReadonlyMap<string, number>;
  /** Models that must answer for a text. */
  readonly minModels: number;
  /** The models return their scored tokens (for `finishText`). */
  readonly withDetail: boolean;
  /** Completes each text's result from the models' tokens. @default - nothing */
  readonly finishText?: TextFinisher;
  /** Store new scores in the result cache. @default true */
  readonly store?: boolean;
  /** Cancels the whole stream (client gone). */
  readonly signal: AbortSignal;
  /**
   * Deadline of each text in ms, counted from when the text enters the window. A job of any size can run as long
   * as it makes progress; a text that hangs fails on its own clock.
   */
  readonly textTimeoutMs: number;
  /**
   * Texts in flight (submitted, or answered but not yet taken by the consumer).
   * @default 1024
   */
  readonly window?: number;
  /** Called with the tokens each text scored over its models, as the text completes. @default - nothing */
  readonly onTokens?: (tokens: number) => void;
  /** Who asks (API key id): the unit of fairness in the model queues. @default '' */
  readonly tenant?: string;
}

/** What the stream's last line says. */
export type EnsembleStreamSummary = ResponseSummary;

/**
 * Scores texts with every model and yields each text's result when complete.
 * @throws {QueueFullError} at the first `next()`, when a model's queue cannot take the stream's window
 * @throws {QuorumError} when backends failed and a text fell short of the quorum (in-flight texts are cancelled)
 * @example
 * const stream = streamEnsemble({ texts, models, weights, minModels: 2, withDetail: false, signal, textTimeoutMs: 60_000 });
 * for (let r = await stream.next(); !r.done; r = await stream.next()) write(r.value);
 */
export async function* streamEnsemble(
  request: EnsembleStreamRequest,
): AsyncGenerator<TextResult, EnsembleStreamSummary, undefined> {
  const window = Math.max(1, request.window ?? 1024);
  const source = request.texts[Symbol.iterator]();
  // Aborted when the consumer stops early or a text misses its quorum: in-flight texts are not needed any more.
  const stop = new AbortController();
  // Every in-flight text listens on it (and every prompt job on its text's signal): not a leak, by design.
  setMaxListeners(0, stop.signal);
  const onParentAbort = () => stop.abort(request.signal.reason);
  if (request.signal.aborted) onParentAbort();
  else request.signal.addEventListener('abort', onParentAbort, { once: true });

  const ready: TextResult[] = [];
  /** Ends the stream at the next turn: a missed quorum, or a fault while finishing a result. */
  let failure: Error | undefined;
  let inFlight = 0;
  let nextIndex = 0;
  let exhausted = false;
  let wake: (() => void) | undefined;
  const used = new Set<string>();
  let degraded = false;
  let tokens = 0;
  let bytes = 0;
  let cacheHits = 0;

  const finish = (index: number, outcomes: ModelOutcome[], text: string) => {
    inFlight--;
    const combined = combineText({
      index,
      text,
      outcomes,
      ...(request.unavailableModels ? { unavailableModels: request.unavailableModels } : {}),
      weights: request.weights,
      minModels: request.minModels,
    });
    if (!combined.ok) {
      failure ??= new QuorumError(combined.message, combined.cause);
    } else {
      try {
        request.finishText?.(combined.result, text, combined.runs);
      } catch (err) {
        // Never an unhandled rejection in the scoring callback: the stream fails with it instead.
        failure ??= err instanceof Error ? err : new Error(String(err));
        wake?.();
        return;
      }
      ready.push(combined.result);
      tokens += combined.tokens;
      bytes += combined.bytes;
      cacheHits += combined.cacheHits;
      degraded ||= combined.degraded;
      for (const name of combined.result.ensemble?.models_used ?? []) used.add(name);
      request.onTokens?.(combined.tokens);
    }
    wake?.();
  };

  const start = (index: number, text: string) => {
    inFlight++;
    const signal = textSignal(stop.signal, request.textTimeoutMs);
    // scoreTexts never rejects: each model answers with a score or the text's error.
    void Promise.all(
      request.models.map((m) =>
        m.scoreTexts([text], {
          withDetail: request.withDetail,
          signal: signal.signal,
          store: request.store !== false,
          tenant: request.tenant ?? '',
        }),
      ),
    ).then((perModel) => {
      signal.dispose();
      finish(
        index,
        perModel.map(([outcome], m) => ({
          name: (request.models[m] as ModelScheduler).info.name,
          outcome: outcome as TextOutcome,
        })),
        text,
      );
    });
  };

  try {
    // Admission once, for the window: the stream never has more than that in any model's queue.
    for (const m of request.models) m.admit(window);
    for (;;) {
      if (failure) throw failure;
      while (!exhausted && inFlight + ready.length < window && !stop.signal.aborted) {
        const next = source.next();
        if (next.done) {
          exhausted = true;
          break;
        }
        start(nextIndex++, next.value);
      }
      const result = ready.shift();
      if (result) {
        yield result;
        continue;
      }
      if (exhausted && inFlight === 0) break;
      // Cancelled with nothing in flight: no text will ever wake us.
      if (stop.signal.aborted && inFlight === 0) throw abortReason(stop.signal);
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
    return {
      models_used: [...used],
      degraded,
      usage: { texts: nextIndex, tokens, bytes, cache_hits: cacheHits },
    };
  } finally {
    // Normal end: nothing is in flight. Early end (consumer gone, quorum missed): cancel what still runs.
    if (inFlight > 0) stop.abort(failure ?? new DOMException('stream closed', 'AbortError'));
    request.signal.removeEventListener('abort', onParentAbort);
    source.return?.();
  }
}

/**
 * A text's own signal: aborts with the stream or after `timeoutMs` (reason `TimeoutError`, which the scheduler
 * reports as a deadline). One controller and one timer per text rather than `AbortSignal.any`, so nothing stays
 * registered on the long-lived stream signal once the text is done.
 */
function textSignal(
  parent: AbortSignal,
  timeoutMs: number,
): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  const onAbort = () => controller.abort(parent.reason);
  parent.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(
    () => controller.abort(new DOMException('the text deadline passed', 'TimeoutError')),
    timeoutMs,
  );
  return {
    signal: controller.signal,
    dispose() {
      clearTimeout(timer);
      parent.removeEventListener('abort', onAbort);
    },
  };
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error
    ? signal.reason
    : new DOMException('the stream was cancelled', 'AbortError');
}
