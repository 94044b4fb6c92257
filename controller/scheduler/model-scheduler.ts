/**
 * @module
 * Per-model scheduler: turns texts into prompt jobs for the batcher, and makes repeated work cheap. A text is
 * answered from the result cache when it can be; identical texts in flight (same text, same details flag) are
 * scored once and shared, and the shared work is cancelled only when every request waiting on it is gone.
 * Short texts go as text prompts (no `/tokenize` round trip); long ones are tokenized and split into rolling
 * windows.
 */
import { LRUCache } from 'lru-cache';
import type { BackendPool } from '../backends/backend-pool.ts';
import { BackendError } from '../backends/errors.ts';
import type { ModelInfo } from '../backends/model-info.ts';
import { NOOP_OBSERVER } from '../observability/observer.ts';
import type { SchedulerObserver } from '../observability/observer.ts';
import type { ScoredSpan } from '../scoring/logprobs.ts';
import { concatRuns } from '../scoring/token-run.ts';
import { TextScoringError } from '../scoring/text-error.ts';
import { utf8Bytes } from '../scoring/text-stats.ts';
import { rollingWindows } from '../scoring/windows.ts';
import type { PromptJob } from './job-queue.ts';
import { PromptBatcher } from './prompt-batcher.ts';
import type { BatcherStats } from './prompt-batcher.ts';
import { ResultCache, textDigest } from './result-cache.ts';
import { readScoredChoice } from './scored-span.ts';
import { tokenizeText } from './tokenize-text.ts';
import type { ModelTextScore, TextOutcome } from './text-score.ts';
import { RequestWait, TextTask } from './text-task.ts';

export type { ModelTextScore, TextOutcome } from './text-score.ts';

export interface ModelSchedulerOptions {
  /** Estimated prompt tokens per batch. @default 16384 */
  readonly batchTokenBudget?: number;
  /** Prompts per batch (vLLM rejects lists over 1024). @default 256 */
  readonly maxBatchPrompts?: number;
  /** Queued prompt jobs beyond which new requests are refused (QueueFullError). @default 50000 */
  readonly maxQueuedJobs?: number;
  /**
   * `prompt_logprobs` sent to the backend. 0 returns only the actual token's logprob, which is all scoring
   * needs and halves the JSON the controller parses compared with 1. @default 0
   */
  readonly promptLogprobs?: number;
  /** Shared result cache. @default - no cache */
  readonly cache?: ResultCache;
  /** @default NOOP_OBSERVER */
  readonly observer?: SchedulerObserver;
  /** Least time one backend attempt is given, in ms (see PromptBatcher). @default 5000 */
  readonly attemptTimeoutFloorMs?: number;
  /** How long a text the backend failed on alone is answered from memory with that error. @default 60000 */
  readonly rejectedTextTtlMs?: number;
}

/** What admission needs to know of a request beyond its text count. */
export interface AdmitOptions {
  /** Estimated prompt tokens of the request. */
  readonly tokens?: number;
  /** Time the request has to finish, in ms. */
  readonly deadlineMs?: number;
  /** Who asks (API key id): its wait depends on its own queued work, tenants taking turns. @default '' */
  readonly tenant?: string;
}

export interface ScoreTextsOptions {
  /** Keep per-token logprobs. @default false */
  readonly withDetail?: boolean;
  /** Deadline and client disconnect of the request. */
  readonly signal: AbortSignal;
  /** `textDigest` of each text when the caller already has them (one hash per text, shared by models). */
  readonly digests?: readonly string[];
  /**
   * Store the new scores in the result cache (lookups happen either way). Bulk jobs pass false so they do not
   * evict everything else. @default true
   */
  readonly store?: boolean;
  /** Who asks (API key id): tenants take turns in the queue. @default '' */
  readonly tenant?: string;
}

/** Thrown when a model's queue is full; the API answers 503 with Retry-After. */
export class QueueFullError extends Error {
  override name = 'QueueFullError';
  readonly model: string;
  /** Seconds after which the queue is expected to have room (for `Retry-After`, at least 1). */
  readonly retryAfterSeconds: number;
  constructor(model: string, retryAfterSeconds = 1, message?: string) {
    super(message ?? `the scoring queue of model ${model} is full`);
    this.model = model;
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds));
  }
}

export type ModelSchedulerStats = BatcherStats;

export class ModelScheduler {
  readonly info: ModelInfo;
  readonly pool: BackendPool;
  readonly #batcher: PromptBatcher;
  readonly #maxQueued: number;
  readonly #cache: ResultCache;
  readonly #observer: SchedulerObserver;
  /** Cache-key prefix: model name plus what identifies its revision and the scoring parameters. */
  readonly #identity: string;
  /** Tasks in flight by text, one map per details flag. */
  readonly #inflight = [new Map<string, TextTask>(), new Map<string, TextTask>()] as const;
  /** Texts (by digest) the backend failed on alone, with that failure: not sent again for a while. */
  readonly #rejected: LRUCache<string, TextScoringError>;

  constructor(info: ModelInfo, pool: BackendPool, options: ModelSchedulerOptions = {}) {
    this.info = info;
    this.pool = pool;
    const promptLogprobs = options.promptLogprobs ?? 0;
    this.#observer = options.observer ?? NOOP_OBSERVER;
    this.#batcher = new PromptBatcher(pool, {
      model: info.name,
      servedName: info.servedName,
      promptLogprobs,
      observer: this.#observer,
      controlPrompt: [info.prefixTokenId, info.prefixTokenId],
      ...(options.attemptTimeoutFloorMs !== undefined
        ? { attemptTimeoutFloorMs: options.attemptTimeoutFloorMs }
        : {}),
      ...(options.batchTokenBudget !== undefined
        ? { batchTokenBudget: options.batchTokenBudget }
        : {}),
      ...(options.maxBatchPrompts !== undefined
        ? { maxBatchPrompts: options.maxBatchPrompts }
        : {}),
    });
    this.#maxQueued = options.maxQueuedJobs ?? 50_000;
    this.#cache = options.cache ?? new ResultCache(0);
    this.#rejected = new LRUCache({ max: 10_000, ttl: options.rejectedTextTtlMs ?? 60_000 });
    this.#identity = this.#cache.namespace(
      `${info.name}\u0000${info.servedName}\u0000${info.maxModelLen}\u0000${info.prefixTokenId}\u0000${promptLogprobs}`,
    );
  }

  stats(): ModelSchedulerStats {
    return this.#batcher.stats();
  }

  /** Whether results are cached (callers then pass digests). */
  get cacheEnabled(): boolean {
    return this.#cache.enabled;
  }

  /** Cache-key prefix of this model (to drop its entries). */
  get cacheIdentity(): string {
    return this.#identity;
  }

  /**
   * Refuses a request of `texts` texts when the queue could not take them; call before scoring anything.
   * @throws {QueueFullError}
   */
  admit(texts: number, options: AdmitOptions = {}): void {
    const waitMs = this.#batcher.estimatedWaitMs(options.tokens ?? 0, options.tenant ?? '');
    if (this.#batcher.queued + texts > this.#maxQueued) {
      throw new QueueFullError(this.info.name, (waitMs ?? 1000) / 1000);
    }
    // Work that cannot finish before its deadline is refused now, rather than failing at the deadline after
    // taking backend time from requests that could have made it.
    if (waitMs !== undefined && options.deadlineMs !== undefined && waitMs > options.deadlineMs) {
      const seconds = Math.ceil(waitMs / 1000);
      throw new QueueFullError(
        this.info.name,
        (waitMs - options.deadlineMs) / 1000,
        `model ${this.info.name} has about ${seconds} s of queued work, more than the request's ${Math.ceil(options.deadlineMs / 1000)} s deadline`,
      );
    }
  }

  /** Scores one text. @throws the text's error (TextScoringError, BackendError) */
  async scoreText(text: string, options: ScoreTextsOptions): Promise<ModelTextScore> {
    const [outcome] = await this.scoreTexts([text], options);
    if (outcome?.ok) return outcome.score;
    throw outcome?.error;
  }

  /**
   * Scores texts with this model. Never rejects: each text gets its score or its error
   * (TextScoringError for the text itself, BackendError for backends or the deadline).
   */
  scoreTexts(texts: readonly string[], options: ScoreTextsOptions): Promise<TextOutcome[]> {
    const { signal } = options;
    const withDetail = options.withDetail ?? false;
    if (signal.aborted) {
      const out = new Array<TextOutcome>(texts.length);
      return Promise.resolve(out.fill({ ok: false, error: abortError(signal, this.info.name) }));
    }
    let resolve!: (out: TextOutcome[]) => void;
    const done = new Promise<TextOutcome[]>((r) => (resolve = r));
    /** Every task this request waits on, once per text (a text repeated in the request counts twice). */
    const joins: TextTask[] = [];
    const onAbort = (): void => {
      // The request is gone (deadline or disconnect): answer it now, and drop work nobody else waits for.
      const error = abortError(signal, this.info.name);
      const { out } = request;
      for (let i = 0; i < out.length; i++) if (out[i] === undefined) out[i] = { ok: false, error };
      for (const task of joins) this.#leave(task, error);
      request.left = 0;
      resolve(out);
    };
    const request = new RequestWait(texts.length, (out) => {
      signal.removeEventListener('abort', onAbort);
      resolve(out);
    });
    const { out } = request;
    const inflight = this.#inflight[withDetail ? 1 : 0];
    const caching = this.#cache.enabled;
    const store = caching && options.store !== false;
    const started: TextTask[] = [];
    let hits = 0;
    let misses = 0;
    for (let i = 0; i < texts.length; i++) {
      const text = texts[i] as string;
      if (text.length === 0) {
        out[i] = { ok: false, error: new TextScoringError('empty_text', 'the text is empty') };
        continue;
      }
      if (this.#rejected.size > 0) {
        const rejected = this.#rejected.get(options.digests?.[i] ?? textDigest(text));
        if (rejected) {
          out[i] = { ok: false, error: rejected };
          continue;
        }
      }
      let cacheKey: string | undefined;
      if (caching) {
        cacheKey = `${this.#identity}${withDetail ? 't' : 'n'}${options.digests?.[i] ?? textDigest(text)}`;
        const hit = this.#cache.get(cacheKey);
        if (hit) {
          hits++;
          out[i] = { ok: true, score: hit, cached: true };
          continue;
        }
        misses++;
      }
      let task = inflight.get(text);
      if (!task) {
        task = new TextTask(text, withDetail, cacheKey, options.tenant ?? '');
        inflight.set(text, task);
        started.push(task);
      }
      // Shared work is stored when any request waiting on it would store it.
      if (store) task.store = true;
      task.join(request, i);
      joins.push(task);
    }
    if (caching) this.#observer.cacheLookups(this.info.name, hits, misses);
    // Started after every text has joined, so a task that settles at once still finds all its waiters.
    for (const task of started) this.#start(task);
    if (request.left === 0) return Promise.resolve(out);
    signal.addEventListener('abort', onAbort, { once: true });
    return done;
  }

  /** Scores a task's text: short texts as one text prompt (by callback), long ones tokenized into windows. */
  #start(task: TextTask): void {
    const { info } = this;
    const { text } = task;
    const bytes = utf8Bytes(text);
    // A token covers at least one byte; the prefix and a sentencepiece dummy prefix add at most two more.
    if (info.textPrefix !== null && bytes + 2 < info.maxModelLen) {
      const prompt = info.textPrefix === '' ? text : info.textPrefix + text;
      // Rough token estimate for the batch budget only (English runs ~4 bytes per token).
      this.#enqueue(task, prompt, 1, Math.ceil(bytes / 3) + 2, (span) => {
        if (span.tokens === 0) {
          this.#finish(task, {
            ok: false,
            error: new TextScoringError('no_scorable_tokens', 'the text has no token to score'),
          });
          return;
        }
        const score: ModelTextScore = span.run
          ? { nll: span.nll, tokens: span.tokens, windows: 1, run: span.run }
          : { nll: span.nll, tokens: span.tokens, windows: 1 };
        this.#finish(task, { ok: true, score });
      });
      return;
    }
    this.#scoreInWindows(task).then(
      (score) => this.#finish(task, { ok: true, score }),
      (error: unknown) => this.#finish(task, { ok: false, error }),
    );
  }

  #finish(
    task: TextTask,
    outcome: { ok: true; score: ModelTextScore } | { ok: false; error: unknown },
  ) {
    if (task.done) return;
    this.#forget(task);
    if (outcome.ok && task.store && task.cacheKey !== undefined) {
      this.#cache.set(task.cacheKey, outcome.score);
    }
    if (
      !outcome.ok &&
      outcome.error instanceof TextScoringError &&
      outcome.error.code === 'backend_rejected_text'
    ) {
      this.#rejected.set(textDigest(task.text), outcome.error);
    }
    task.settle(outcome);
  }

  /** A waiter left `task`; the last one out cancels its jobs (and any batch they alone fill). */
  #leave(task: TextTask, error: BackendError): void {
    if (task.done || --task.live > 0) return;
    task.done = true;
    task.cancelled = true;
    this.#forget(task);
    for (const job of task.jobs) this.#batcher.cancel(job, error);
    task.controller?.abort(error);
  }

  #forget(task: TextTask): void {
    const map = this.#inflight[task.withDetail ? 1 : 0];
    if (map.get(task.text) === task) map.delete(task.text);
  }

  async #scoreInWindows(task: TextTask): Promise<ModelTextScore> {
    const { info } = this;
    task.controller ??= new AbortController();
    const tokens = await tokenizeText(this.pool, info, task.text, task.controller.signal);
    if (tokens.length === 0)
      throw new TextScoringError('no_scorable_tokens', 'the text has no token to score');
    const windows = rollingWindows(tokens, info.prefixTokenId, info.maxModelLen - 1);
    const spans = await Promise.all(
      windows.map(
        (w) =>
          new Promise<ScoredSpan>((resolve, reject) =>
            this.#enqueue(task, w.prompt, w.scoreFrom, w.prompt.length, resolve, reject),
          ),
      ),
    );
    let nll = 0;
    let scored = 0;
    for (const s of spans) {
      nll += s.nll;
      scored += s.tokens;
    }
    if (!task.withDetail) return { nll, tokens: scored, windows: windows.length };
    const run = concatRuns(spans.flatMap((s) => (s.run ? [s.run] : [])));
    return { nll, tokens: scored, windows: windows.length, run };
  }

  /** Queues one prompt of a task; `onSpan` gets its scored span, `onError` anything that went wrong. */
  #enqueue(
    task: TextTask,
    prompt: string | number[],
    scoreFrom: number,
    estTokens: number,
    onSpan: (span: ScoredSpan) => void,
    onError: (error: unknown) => void = (error) => this.#finish(task, { ok: false, error }),
  ): void {
    if (task.cancelled) {
      onError(new BackendError('CANCELLED', 'request cancelled', { backend: this.info.name }));
      return;
    }
    const job: PromptJob = {
      prompt,
      scoreFrom,
      estTokens,
      withDetail: task.withDetail,
      tenant: task.tenant,
      attempts: 0,
      solo: false,
      avoid: undefined,
      settled: false,
      queued: false,
      enqueuedAt: 0,
      batch: undefined,
      resolve: (choice) => {
        let span: ScoredSpan;
        try {
          span = readScoredChoice(job, choice, this.info);
        } catch (err) {
          onError(err);
          return;
        }
        onSpan(span);
      },
      reject: onError,
    };
    task.jobs.push(job);
    this.#batcher.enqueue(job);
  }
}

function abortError(signal: AbortSignal, model: string): BackendError {
  const timedOut = (signal.reason as { name?: string } | undefined)?.name === 'TimeoutError';
  return new BackendError(
    timedOut ? 'DEADLINE_EXCEEDED' : 'CANCELLED',
    timedOut ? `deadline exceeded waiting for model ${model}` : 'request cancelled',
    { backend: model },
  );
}
