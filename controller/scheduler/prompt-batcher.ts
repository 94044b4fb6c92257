/**
 * @module
 * Sends one model's prompt jobs to its backends in batches. Work submitted in the same turn of the event loop
 * is grouped (the pump runs on setImmediate, after every request parsed in that I/O phase has queued its
 * texts), a batch leaves at once when a backend has spare capacity and grows while all are busy, so
 * concurrent requests share backend calls. Failures: a 400 of a list is bisected into solo resends
 * (one bad prompt fails a whole vLLM list), connection errors and 5xx are retried once on another healthy
 * replica, and a batch whose jobs were all cancelled is aborted on the wire.
 */
import type { Backend } from '../backends/backend.ts';
import type { BackendPool } from '../backends/backend-pool.ts';
import { BackendError } from '../backends/errors.ts';
import type { ScoredChoice } from '../backends/scored-choice.ts';
import { NOOP_OBSERVER } from '../observability/observer.ts';
import type { SchedulerObserver } from '../observability/observer.ts';
import { TextScoringError } from '../scoring/text-error.ts';
import { JobQueue } from './job-queue.ts';
import type { BatchHandle, PromptJob } from './job-queue.ts';

export interface PromptBatcherOptions {
  /** Model name (logs, observer labels). */
  readonly model: string;
  /** Name the backends serve the model under. */
  readonly servedName: string;
  /** Estimated prompt tokens per batch. @default 16384 */
  readonly batchTokenBudget?: number;
  /** Prompts per batch (vLLM rejects lists over 1024). @default 256 */
  readonly maxBatchPrompts?: number;
  /** `prompt_logprobs` sent to the backend (0: only the actual token). @default 0 */
  readonly promptLogprobs?: number;
  /** @default NOOP_OBSERVER */
  readonly observer?: SchedulerObserver;
}

/** Batches sent, for tests and metrics. */
export interface BatcherStats {
  batches: number;
  prompts: number;
  queued: number;
}

export class PromptBatcher {
  readonly pool: BackendPool;
  readonly #model: string;
  readonly #servedName: string;
  readonly #budget: number;
  readonly #maxPrompts: number;
  readonly #promptLogprobs: number;
  readonly #observer: SchedulerObserver;
  readonly #textJobs = new JobQueue();
  readonly #idJobs = new JobQueue();
  #queued = 0;
  #reportedDepth = -1;
  #batches = 0;
  #prompts = 0;
  #pumpScheduled = false;
  readonly #pumpTask = () => {
    this.#pumpScheduled = false;
    this.#pump();
  };

  constructor(pool: BackendPool, options: PromptBatcherOptions) {
    this.pool = pool;
    this.#model = options.model;
    this.#servedName = options.servedName;
    this.#budget = options.batchTokenBudget ?? 16_384;
    this.#maxPrompts = Math.min(options.maxBatchPrompts ?? 256, 1024);
    this.#promptLogprobs = options.promptLogprobs ?? 0;
    this.#observer = options.observer ?? NOOP_OBSERVER;
    pool.onChange(() => this.schedulePump());
  }

  /** Live jobs waiting for a backend. */
  get queued(): number {
    return this.#queued;
  }

  stats(): BatcherStats {
    return { batches: this.#batches, prompts: this.#prompts, queued: this.#queued };
  }

  /** Queues a job; it leaves with the next batch (at the latest when this turn of the event loop ends). */
  enqueue(job: PromptJob): void {
    job.queued = true;
    job.enqueuedAt = performance.now();
    this.#queued++;
    (typeof job.prompt === 'string' ? this.#textJobs : this.#idJobs).push(job);
    this.schedulePump();
  }

  /** Settles a job as failed (cancelled, deadline): it leaves its queue or its batch. */
  cancel(job: PromptJob, error: unknown): void {
    if (job.settled) return;
    this.#settle(job);
    job.batch?.jobLeft();
    job.reject(error);
  }

  schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    setImmediate(this.#pumpTask);
  }

  /** Sends batches while there is work and a backend with spare capacity. */
  #pump(): void {
    for (;;) {
      const queue = oldestQueue(this.#textJobs, this.#idJobs);
      const head = queue?.peek();
      if (!queue || !head) break;
      const backend = this.#backendFor(head);
      if (!backend) {
        if (!this.pool.available) this.#failQueued();
        break;
      }
      const jobs = queue.takeBatch(this.#maxPrompts, this.#budget, backend);
      this.#queued -= jobs.length;
      void this.#send(backend, jobs);
    }
    this.#reportDepth();
  }

  /** A retried job waits for another replica while one is healthy; otherwise any backend will do. */
  #backendFor(head: PromptJob): Backend | undefined {
    if (!head.avoid) return this.pool.pick();
    const other = this.pool.pick(head.avoid);
    if (other || this.pool.anyHealthy(head.avoid)) return other;
    return this.pool.pick();
  }

  async #send(backend: Backend, jobs: PromptJob[]): Promise<void> {
    let tokens = 0;
    for (const j of jobs) tokens += j.estTokens;
    const controller = new AbortController();
    let live = jobs.length;
    const batch: BatchHandle = {
      jobLeft: () => {
        if (--live === 0) controller.abort(new DOMException('every job left', 'AbortError'));
      },
    };
    const prompts = new Array<string | number[]>(jobs.length);
    let withDetail = false;
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i] as PromptJob;
      job.batch = batch;
      prompts[i] = job.prompt;
      withDetail ||= job.withDetail;
    }
    this.pool.acquire(backend, tokens);
    this.#batches++;
    this.#prompts += jobs.length;
    this.#observer.batchSent(this.#model, backend.id, jobs.length, tokens);
    const started = performance.now();
    let outcome: BackendError['code'] | 'ok' = 'ok';
    try {
      const choices = await backend.client.scorePrompts(
        {
          model: this.#servedName,
          prompt: prompts as string[] | number[][],
          max_tokens: 0,
          echo: true,
          prompt_logprobs: this.#promptLogprobs,
          return_token_ids: true,
          temperature: 0,
        },
        controller.signal,
        withDetail,
      );
      this.pool.recordSuccess(backend);
      for (let i = 0; i < jobs.length; i++) {
        const job = jobs[i] as PromptJob;
        if (job.settled) continue;
        this.#settle(job);
        job.resolve(choices[i] as ScoredChoice);
      }
    } catch (err) {
      outcome = err instanceof BackendError ? err.code : 'BACKEND_BAD_RESPONSE';
      this.#handleBatchError(backend, jobs, err);
    } finally {
      this.#observer.batchDone(
        this.#model,
        backend.id,
        (performance.now() - started) / 1000,
        outcome,
      );
      this.pool.release(backend, tokens);
    }
  }

  #handleBatchError(backend: Backend, jobs: PromptJob[], err: unknown): void {
    if (!(err instanceof BackendError)) {
      this.#rejectAll(jobs, err);
      return;
    }
    if (err.isBackendFault) this.pool.recordFailure(backend, err);
    if (err.code === 'BACKEND_REJECTED') {
      // One bad prompt fails a whole list: resend each alone so only the bad text carries the error.
      if (countLive(jobs) > 1) {
        for (const job of jobs) if (!job.settled) this.#requeue(job, { solo: true });
        return;
      }
      this.#rejectAll(jobs, new TextScoringError('text_rejected', err.message));
      return;
    }
    if (err.retryable) {
      // Retry once, on another healthy replica; with none, the failure stands (the ensemble degrades).
      const canRetry = this.pool.anyHealthy(backend) !== undefined;
      for (const job of jobs) {
        if (job.settled) continue;
        if (job.attempts === 0 && canRetry) this.#requeue(job, { avoid: backend });
        else this.#rejectOne(job, err);
      }
      return;
    }
    this.#rejectAll(jobs, err);
  }

  #requeue(job: PromptJob, how: { solo?: boolean; avoid?: Backend }): void {
    job.attempts++;
    job.batch = undefined;
    if (how.solo) job.solo = true;
    if (how.avoid) job.avoid = how.avoid;
    job.queued = true;
    this.#queued++;
    (typeof job.prompt === 'string' ? this.#textJobs : this.#idJobs).pushFront(job);
    this.schedulePump();
  }

  /** No backend of this model is healthy: fail queued work now rather than letting it wait out the deadline. */
  #failQueued(): void {
    const error = new BackendError(
      'BACKEND_UNAVAILABLE',
      `no healthy backend of model ${this.#model}`,
      { backend: this.#model },
    );
    for (const queue of [this.#textJobs, this.#idJobs]) {
      for (const job of queue.drain()) {
        if (job.settled) continue;
        job.settled = true;
        job.reject(error);
      }
    }
    this.#queued = 0;
  }

  #rejectAll(jobs: readonly PromptJob[], err: unknown): void {
    for (const job of jobs) this.#rejectOne(job, err);
  }

  #rejectOne(job: PromptJob, err: unknown): void {
    if (job.settled) return;
    this.#settle(job);
    job.reject(err);
  }

  #settle(job: PromptJob): void {
    job.settled = true;
    if (job.queued) {
      job.queued = false;
      this.#queued--;
      this.schedulePump(); // the depth changed; the pump reports it
    }
  }

  #reportDepth(): void {
    if (this.#queued === this.#reportedDepth) return;
    this.#reportedDepth = this.#queued;
    this.#observer.queueDepth(this.#model, this.#queued);
  }
}

function oldestQueue(a: JobQueue, b: JobQueue): JobQueue | undefined {
  const pa = a.peek();
  const pb = b.peek();
  if (!pa) return pb ? b : undefined;
  if (!pb) return a;
  return pa.enqueuedAt <= pb.enqueuedAt ? a : b;
}

function countLive(jobs: readonly PromptJob[]): number {
  let n = 0;
  for (const j of jobs) if (!j.settled) n++;
  return n;
}
