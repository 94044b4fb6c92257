/**
 * @module
 * Per-model scheduler: every text (or window) of every request becomes a prompt job in one queue per prompt
 * kind; jobs go out in batches bounded by a token budget and vLLM's list limit. A batch leaves at once when a
 * backend has spare capacity and grows while all are busy, so concurrent requests share backend calls.
 */
import type { Backend } from '../backends/backend.ts';
import type { BackendPool } from '../backends/backend-pool.ts';
import { BackendError } from '../backends/errors.ts';
import type { ModelInfo } from '../backends/model-info.ts';
import type { CompletionChoice } from '../backends/vllm-types.ts';
import { InvalidLogprobError, sumPromptLogprobs } from '../scoring/logprobs.ts';
import type { TokenLogprob } from '../scoring/logprobs.ts';
import { TextScoringError } from '../scoring/text-error.ts';
import { utf8Bytes } from '../scoring/text-stats.ts';
import { rollingWindows } from '../scoring/windows.ts';
import { JobQueue } from './job-queue.ts';
import type { PromptJob } from './job-queue.ts';

export interface ModelSchedulerOptions {
  /** Estimated prompt tokens per batch. @default 16384 */
  readonly batchTokenBudget?: number;
  /** Prompts per batch (vLLM rejects lists over 1024). @default 256 */
  readonly maxBatchPrompts?: number;
  /** Queued prompt jobs before new work is refused. @default 50000 */
  readonly maxQueuedJobs?: number;
  /** `prompt_logprobs` sent to the backend (the actual token is always included). @default 1 */
  readonly promptLogprobs?: number;
}

/** One model's verdict on one text. */
export interface ModelTextScore {
  nll: number;
  tokens: number;
  windows: number;
  detail?: TokenLogprob[];
}

export interface ScoreTextOptions {
  withDetail?: boolean;
  signal: AbortSignal;
}

/** Thrown when the queue is full; the API answers 503 with Retry-After. */
export class QueueFullError extends Error {
  override name = 'QueueFullError';
  readonly model: string;
  constructor(model: string) {
    super(`the scoring queue of model ${model} is full`);
    this.model = model;
  }
}

/** Batches sent per model, for tests and metrics. */
export interface ModelSchedulerStats {
  batches: number;
  prompts: number;
  queued: number;
}

export class ModelScheduler {
  readonly info: ModelInfo;
  readonly pool: BackendPool;
  readonly #budget: number;
  readonly #maxPrompts: number;
  readonly #maxQueued: number;
  readonly #promptLogprobs: number;
  readonly #textJobs = new JobQueue();
  readonly #idJobs = new JobQueue();
  readonly #stats: ModelSchedulerStats = { batches: 0, prompts: 0, queued: 0 };
  #pumping = false;

  constructor(info: ModelInfo, pool: BackendPool, options: ModelSchedulerOptions = {}) {
    this.info = info;
    this.pool = pool;
    this.#budget = options.batchTokenBudget ?? 16_384;
    this.#maxPrompts = Math.min(options.maxBatchPrompts ?? 256, 1024);
    this.#maxQueued = options.maxQueuedJobs ?? 50_000;
    this.#promptLogprobs = options.promptLogprobs ?? 1;
    pool.onChange(() => this.#pump());
  }

  stats(): ModelSchedulerStats {
    return { ...this.#stats, queued: this.#textJobs.size + this.#idJobs.size };
  }

  /**
   * Scores one text with this model.
   * @throws {TextScoringError} for problems of the text itself
   * @throws {BackendError} when the model's backends failed or the deadline passed
   */
  async scoreText(text: string, options: ScoreTextOptions): Promise<ModelTextScore> {
    if (text.length === 0) throw new TextScoringError('empty_text', 'the text is empty');
    const withDetail = options.withDetail ?? false;
    const { info } = this;
    const bytes = utf8Bytes(text);
    // A token covers at least one byte; BOS and a sentencepiece dummy prefix add at most two more.
    if (info.addsPrefixItself && bytes + 2 < info.maxModelLen) {
      const span = await this.#submit(
        text,
        1,
        Math.ceil(bytes / 3) + 2,
        withDetail,
        options.signal,
      );
      if (span.tokens === 0)
        throw new TextScoringError('no_scorable_tokens', 'the text has no token to score');
      return { ...span, windows: 1 };
    }
    const tokens = await this.#tokenize(text, options.signal);
    if (tokens.length === 0)
      throw new TextScoringError('no_scorable_tokens', 'the text has no token to score');
    const windows = rollingWindows(tokens, info.prefixTokenId, info.maxModelLen - 1);
    const spans = await Promise.all(
      windows.map((w) =>
        this.#submit(w.prompt, w.scoreFrom, w.prompt.length, withDetail, options.signal),
      ),
    );
    let nll = 0;
    let scored = 0;
    const detail: TokenLogprob[] | undefined = withDetail ? [] : undefined;
    for (const s of spans) {
      nll += s.nll;
      scored += s.tokens;
      if (detail && s.detail) detail.push(...s.detail);
    }
    return detail
      ? { nll, tokens: scored, windows: windows.length, detail }
      : { nll, tokens: scored, windows: windows.length };
  }

  async #tokenize(text: string, signal: AbortSignal): Promise<number[]> {
    const tried = new Set<Backend>();
    for (;;) {
      const backend = this.pool.anyHealthy(tried);
      if (!backend) throw this.#unavailable(tried.size);
      try {
        const result = await backend.client.tokenize(this.info.servedName, text, false, signal);
        this.pool.recordSuccess(backend);
        return result.tokens;
      } catch (err) {
        if (!(err instanceof BackendError)) throw err;
        if (err.isBackendFault) this.pool.recordFailure(backend, err);
        if (err.code === 'BACKEND_REJECTED')
          throw new TextScoringError('text_rejected', err.message);
        if (!err.retryable || tried.size >= 1) throw err;
        tried.add(backend);
      }
    }
  }

  #submit(
    prompt: string | number[],
    scoreFrom: number,
    estTokens: number,
    withDetail: boolean,
    signal: AbortSignal,
  ): Promise<{ nll: number; tokens: number; detail?: TokenLogprob[] }> {
    if (signal.aborted) return Promise.reject(abortError(signal, this.info.name));
    if (this.#textJobs.size + this.#idJobs.size >= this.#maxQueued) {
      return Promise.reject(new QueueFullError(this.info.name));
    }
    return new Promise((resolve, reject) => {
      const job: PromptJob = {
        prompt,
        scoreFrom,
        estTokens,
        withDetail,
        signal,
        attempts: 0,
        solo: false,
        settled: false,
        resolve: (choice) => {
          try {
            resolve(this.#readChoice(job, choice));
          } catch (err) {
            reject(err);
          }
        },
        reject,
        onAbort: () => {
          // Queued jobs leave at once; in-flight ones are cancelled with their batch when nobody else waits.
          if (job.settled) return;
          job.settled = true;
          job.batch?.jobAborted();
          reject(abortError(signal, this.info.name));
        },
      };
      signal.addEventListener('abort', job.onAbort, { once: true });
      (typeof prompt === 'string' ? this.#textJobs : this.#idJobs).push(job);
      this.#pump();
    });
  }

  #readChoice(
    job: PromptJob,
    choice: CompletionChoice,
  ): { nll: number; tokens: number; detail?: TokenLogprob[] } {
    const ids = choice.prompt_token_ids;
    if (typeof job.prompt !== 'string') {
      const sent = job.prompt;
      if (ids.length !== sent.length || ids.some((id, i) => id !== sent[i])) {
        throw new BackendError(
          'BACKEND_BAD_RESPONSE',
          'the backend scored other tokens than were sent',
          {
            backend: this.info.name,
          },
        );
      }
    } else if (ids[0] !== this.info.prefixTokenId) {
      throw new BackendError(
        'BACKEND_BAD_RESPONSE',
        'the backend did not prefix the text with its BOS token',
        {
          backend: this.info.name,
        },
      );
    }
    try {
      return sumPromptLogprobs(ids, choice.prompt_logprobs, job.scoreFrom, job.withDetail);
    } catch (err) {
      if (err instanceof InvalidLogprobError)
        throw new TextScoringError('invalid_logprob', err.message);
      throw err;
    }
  }

  /** Sends batches while there is work and a backend with spare capacity. */
  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      for (;;) {
        const queue = pickQueue(this.#textJobs, this.#idJobs);
        if (!queue) return;
        const head = queue.peek();
        const backend = (head?.avoid && this.pool.pick(new Set([head.avoid]))) || this.pool.pick();
        if (!backend) {
          if (!this.pool.available) this.#failQueued();
          return;
        }
        const jobs = queue.takeBatch(this.#maxPrompts, this.#budget);
        if (jobs.length === 0) continue;
        void this.#send(backend, jobs);
      }
    } finally {
      this.#pumping = false;
    }
  }

  async #send(backend: Backend, jobs: PromptJob[]): Promise<void> {
    const tokens = jobs.reduce((n, j) => n + j.estTokens, 0);
    const controller = new AbortController();
    let live = jobs.length;
    const batch = {
      jobAborted: () => {
        if (--live === 0) controller.abort(jobs[0]?.signal.reason);
      },
    };
    for (const j of jobs) j.batch = batch;
    this.pool.acquire(backend, tokens);
    this.#stats.batches++;
    this.#stats.prompts += jobs.length;
    try {
      const choices = await backend.client.completions(
        {
          model: this.info.servedName,
          prompt: jobs.map((j) => j.prompt) as string[] | number[][],
          max_tokens: 0,
          echo: true,
          prompt_logprobs: this.#promptLogprobs,
          return_token_ids: true,
          temperature: 0,
        },
        controller.signal,
      );
      this.pool.recordSuccess(backend);
      jobs.forEach((job, i) => settle(job, (j) => j.resolve(choices[i] as CompletionChoice)));
    } catch (err) {
      this.#handleBatchError(backend, jobs, err);
    } finally {
      this.pool.release(backend, tokens);
    }
  }

  #handleBatchError(backend: Backend, jobs: PromptJob[], err: unknown): void {
    if (!(err instanceof BackendError)) {
      jobs.forEach((job) => settle(job, (j) => j.reject(err)));
      return;
    }
    if (err.isBackendFault) this.pool.recordFailure(backend, err);
    if (err.code === 'BACKEND_REJECTED') {
      // One bad prompt fails a whole list: resend each alone so only the bad text carries the error.
      if (jobs.length > 1) {
        for (const job of jobs) if (!job.settled) this.#requeue(job, { solo: true });
        return;
      }
      jobs.forEach((job) =>
        settle(job, (j) => j.reject(new TextScoringError('text_rejected', err.message))),
      );
      return;
    }
    if (err.retryable) {
      // Retry once, on another healthy replica if there is one.
      for (const job of jobs) {
        if (job.settled) continue;
        if (job.attempts === 0 && this.pool.backends.length > 1)
          this.#requeue(job, { avoid: backend });
        else settle(job, (j) => j.reject(err));
      }
      return;
    }
    jobs.forEach((job) => settle(job, (j) => j.reject(err)));
  }

  #requeue(job: PromptJob, how: { solo?: boolean; avoid?: Backend }): void {
    job.attempts++;
    job.batch = undefined;
    if (how.solo) job.solo = true;
    if (how.avoid) job.avoid = how.avoid;
    (typeof job.prompt === 'string' ? this.#textJobs : this.#idJobs).pushFront(job);
    queueMicrotask(() => this.#pump());
  }

  /** No backend of this model is healthy: fail queued work now rather than letting it wait out the deadline. */
  #failQueued(): void {
    const error = this.#unavailable(0);
    for (const queue of [this.#textJobs, this.#idJobs]) {
      for (const job of queue.drain()) settle(job, (j) => j.reject(error));
    }
  }

  #unavailable(tried: number): BackendError {
    return new BackendError(
      'BACKEND_UNAVAILABLE',
      tried > 0
        ? `no other healthy backend of model ${this.info.name}`
        : `no healthy backend of model ${this.info.name}`,
      { backend: this.info.name },
    );
  }
}

function pickQueue(a: JobQueue, b: JobQueue): JobQueue | undefined {
  if (a.size === 0) return b.size === 0 ? undefined : b;
  if (b.size === 0) return a;
  return a.oldestEnqueuedAt() <= b.oldestEnqueuedAt() ? a : b;
}

function settle(job: PromptJob, action: (job: PromptJob) => void): void {
  if (job.settled) return;
  job.settled = true;
  job.signal.removeEventListener('abort', job.onAbort);
  action(job);
}

function abortError(signal: AbortSignal, model: string): BackendError {
  const timedOut = (signal.reason as { name?: string } | undefined)?.name === 'TimeoutError';
  return new BackendError(
    timedOut ? 'DEADLINE_EXCEEDED' : 'CANCELLED',
    timedOut ? `deadline exceeded waiting for model ${model}` : 'request cancelled',
    { backend: model },
  );
}
