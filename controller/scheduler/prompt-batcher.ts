/**
 * @module
 * Sends one model's prompt jobs to its backends in batches. Work submitted in the same turn of the event loop
 * is grouped (the pump runs on setImmediate, after every request parsed in that I/O phase has queued its
 * texts), a batch leaves at once when a backend has spare capacity and grows while all are busy, so
 * concurrent requests share backend calls. Tenants (API keys) take turns filling batches (see JobQueue).
 *
 * Failures:
 * - a 400 of a list is resent prompt by prompt (one bad prompt fails a whole vLLM list);
 * - a 5xx or a malformed answer may be caused by one input (poison). The backend is checked with a tiny control
 *   prompt: if that fails, the backend is at fault (counted against its health, retried as below); if it
 *   answers, the batch is bisected on that backend until the texts that fail alone are found. Those get
 *   `backend_rejected_text` and do not count against the backend;
 * - every attempt has its own timeout from the batch's expected cost (tokens × the backend's measured ms per
 *   token, with a floor), so a frozen replica costs seconds, not the request's deadline, and a batch in flight
 *   on a backend that gets ejected is taken back at once;
 * - connection errors, timeouts and backend faults are retried once: on another healthy replica, or, when the
 *   model has no other, on the same one after a short pause;
 * - a batch whose jobs were all cancelled is aborted on the wire.
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
import { rejectedTextMessage } from './rejected-text.ts';

/** A batch should take about this long on its backend: small enough that callers take turns often. */
const TARGET_BATCH_MS = 1_000;
/** Batches are never cut below this many estimated tokens by the time target. */
const MIN_BATCH_TOKENS = 1_024;
/** Jobs of an answer resolved in one turn of the event loop. */
const SETTLE_SLICE = 128;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

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
  /** Least time one backend attempt is given, in ms. @default 5000 */
  readonly attemptTimeoutFloorMs?: number;
  /** An attempt may take this many times its expected cost (tokens × measured ms per token). @default 4 */
  readonly attemptTimeoutFactor?: number;
  /** Pause before a failed batch is retried on the same backend (a model with one replica). @default 250 */
  readonly retryDelayMs?: number;
  /** A prompt every healthy backend of the model answers: tells a poison input from a failing backend. */
  readonly controlPrompt?: readonly number[];
}

/** Why the batcher itself aborted an attempt. */
class AttemptAbort extends Error {
  override name = 'AttemptAbort';
}

/** A batch on the wire: what to abort when its backend is ejected. */
interface InflightBatch {
  readonly backend: Backend;
  readonly controller: AbortController;
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
  readonly #attemptFloorMs: number;
  readonly #attemptFactor: number;
  readonly #retryDelayMs: number;
  readonly #controlPrompt: readonly number[] | undefined;
  readonly #textJobs = new JobQueue();
  readonly #idJobs = new JobQueue();
  readonly #inflight = new Set<InflightBatch>();
  #queued = 0;
  #queuedTokens = 0;
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
    this.#attemptFloorMs = options.attemptTimeoutFloorMs ?? 5_000;
    this.#attemptFactor = options.attemptTimeoutFactor ?? 4;
    this.#retryDelayMs = options.retryDelayMs ?? 250;
    this.#controlPrompt = options.controlPrompt;
    pool.onChange(() => {
      this.#abortEjected();
      this.schedulePump();
    });
  }

  /**
   * Estimated ms until `extraTokens` more of `tenant`'s work would be scored, at the measured throughput of the
   * healthy backends, or undefined when none is healthy. Tenants take turns, so that is the work in flight plus
   * the tenant's own queued work times the tenants taking turns, and never more than the whole queue.
   */
  estimatedWaitMs(extraTokens = 0, tenant = ''): number | undefined {
    const perSecond = this.pool.throughput();
    if (perSecond === undefined || perSecond <= 0) return undefined;
    let inflight = 0;
    for (const b of this.pool.backends) if (b.state === 'healthy') inflight += b.outstandingTokens;
    const own = this.#textJobs.tokensOf(tenant) + this.#idJobs.tokensOf(tenant) + extraTokens;
    const tenants = Math.max(this.#textJobs.tenants, this.#idJobs.tenants) + 1;
    const ahead = Math.min(this.#queuedTokens + extraTokens, own * tenants);
    return ((inflight + ahead) / perSecond) * 1000;
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
    this.#queuedTokens += job.estTokens;
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
      const jobs = queue.takeBatch(this.#maxPrompts, this.#budgetFor(backend), backend);
      this.#queued -= jobs.length;
      const now = performance.now();
      for (const job of jobs) {
        this.#queuedTokens -= job.estTokens;
        this.#observer.queueWait?.(this.#model, (now - job.enqueuedAt) / 1000);
      }
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

  /** One attempt of `jobs` on `backend`; `bisecting`: a part of a batch that failed on an input. */
  async #send(backend: Backend, jobs: PromptJob[], bisecting = false): Promise<void> {
    let tokens = 0;
    for (const j of jobs) tokens += j.estTokens;
    const controller = new AbortController();
    const timeoutMs = this.#attemptTimeoutMs(backend, tokens);
    const timer = lagTolerantTimeout(timeoutMs, () =>
      controller.abort(new AttemptAbort(`no answer within ${timeoutMs} ms (attempt timeout)`)),
    );
    const onWire: InflightBatch = { backend, controller };
    this.#inflight.add(onWire);
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
    let choices: ScoredChoice[] | undefined;
    try {
      choices = await backend.client.scorePrompts(
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
      this.pool.recordLatency(backend, tokens, started);
    } catch (thrown) {
      const reason: unknown = controller.signal.reason;
      // The batcher's own aborts (attempt timeout, ejection) are the backend's failure, not a cancellation.
      const err =
        reason instanceof AttemptAbort
          ? new BackendError('BACKEND_UNAVAILABLE', reason.message, {
              backend: backend.id,
              cause: thrown,
            })
          : thrown;
      outcome = err instanceof BackendError ? err.code : 'BACKEND_BAD_RESPONSE';
      this.#handleBatchError(backend, jobs, err, bisecting);
    } finally {
      timer.clear();
      this.#inflight.delete(onWire);
      this.#observer.batchDone(
        this.#model,
        backend.id,
        (performance.now() - started) / 1000,
        outcome,
      );
      this.pool.release(backend, tokens);
    }
    if (choices) await this.#resolveJobs(jobs, choices);
  }

  /**
   * Hands each job its answer, a slice per turn of the event loop: what waits on a job (its text's result, the
   * request's response) runs as the job resolves, so a 1000-prompt answer settled at once would hold the loop
   * for tens of milliseconds.
   */
  async #resolveJobs(jobs: readonly PromptJob[], choices: readonly ScoredChoice[]): Promise<void> {
    for (let i = 0; i < jobs.length; i++) {
      if (i > 0 && i % SETTLE_SLICE === 0) await nextTurn();
      const job = jobs[i] as PromptJob;
      if (job.settled) continue;
      this.#settle(job);
      job.resolve(choices[i] as ScoredChoice);
    }
  }

  #handleBatchError(backend: Backend, jobs: PromptJob[], err: unknown, bisecting: boolean): void {
    if (!(err instanceof BackendError)) {
      this.#rejectAll(jobs, err);
      return;
    }
    const live = jobs.filter((j) => !j.settled);
    if (live.length === 0) return;
    if (err.code === 'BACKEND_REJECTED') {
      // One bad prompt fails a whole list: resend each alone so only the bad text carries the error.
      if (live.length > 1) {
        for (const job of live) this.#requeue(job, { solo: true });
        return;
      }
      this.#rejectAll(live, new TextScoringError('text_rejected', err.message));
      return;
    }
    if (err.code === 'BACKEND_SERVER_ERROR' || err.code === 'BACKEND_BAD_RESPONSE') {
      // Inside a bisection the backend was just shown to work: the failure is the input's.
      if (bisecting) {
        this.#isolate(backend, live, err);
        return;
      }
      void this.#answersControl(backend).then((works) => {
        const still = live.filter((j) => !j.settled);
        if (still.length === 0) return;
        if (works) this.#isolate(backend, still, err);
        else this.#backendFault(backend, still, err);
      });
      return;
    }
    if (err.retryable) {
      this.#backendFault(backend, live, err);
      return;
    }
    this.#rejectAll(live, err);
  }

  /** A failure tied to the input: halve the batch until the texts that fail alone are found. */
  #isolate(backend: Backend, live: PromptJob[], err: BackendError): void {
    if (live.length === 1) {
      const job = live[0] as PromptJob;
      this.#rejectOne(
        job,
        new TextScoringError('backend_rejected_text', rejectedTextMessage(err, job.prompt)),
      );
      return;
    }
    if (backend.state !== 'healthy') {
      for (const job of live) this.#requeue(job, {});
      return;
    }
    const mid = Math.ceil(live.length / 2);
    void this.#send(backend, live.slice(0, mid), true);
    void this.#send(backend, live.slice(mid), true);
  }

  /**
   * The backend failed on its own account: count it against its health, and retry once, on another healthy
   * replica or, when the model has none, on the same one after a pause (one ECONNRESET must not fail a
   * request); the request's deadline still bounds it.
   */
  #backendFault(backend: Backend, live: PromptJob[], err: BackendError): void {
    this.pool.recordFailure(backend, err);
    const elsewhere = this.pool.anyHealthy(backend) !== undefined;
    const again = !elsewhere && backend.state === 'healthy';
    const later: PromptJob[] = [];
    for (const job of live) {
      if (job.attempts > 0 || !(elsewhere || again)) this.#rejectOne(job, err);
      else if (elsewhere) this.#requeue(job, { avoid: backend });
      else later.push(job);
    }
    if (later.length === 0) return;
    setTimeout(() => {
      for (const job of later) if (!job.settled) this.#requeue(job, {});
    }, this.#retryDelayMs);
  }

  /** Whether the backend scores the control prompt now (within a short timeout). */
  async #answersControl(backend: Backend): Promise<boolean> {
    const prompt = this.#controlPrompt ? [[...this.#controlPrompt]] : ['The'];
    try {
      await backend.client.scorePrompts(
        {
          model: this.#servedName,
          prompt: prompt as string[] | number[][],
          max_tokens: 0,
          echo: true,
          prompt_logprobs: this.#promptLogprobs,
          return_token_ids: true,
          temperature: 0,
        },
        AbortSignal.timeout(Math.min(this.#attemptTimeoutMs(backend, 8), 2 * this.#attemptFloorMs)),
        false,
      );
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Expected time of `tokens` on `backend` after the work already on it, times the factor, plus the floor; no
   * limit (the request's deadline still applies) before the backend's rate has been measured, since a guess
   * could cut off a backend that is merely slower than guessed.
   */
  #attemptTimeoutMs(backend: Backend, tokens: number): number {
    if (backend.msPerToken === undefined) return Infinity;
    const work = (tokens + backend.outstandingTokens) * this.pool.msPerToken(backend);
    return Math.ceil(this.#attemptFloorMs + this.#attemptFactor * work);
  }

  /** Token budget of a batch for `backend`: the configured one, cut to about a second of its measured work. */
  #budgetFor(backend: Backend): number {
    if (backend.msPerToken === undefined) return this.#budget;
    const bySpeed = Math.floor(TARGET_BATCH_MS / backend.msPerToken);
    return Math.min(this.#budget, Math.max(MIN_BATCH_TOKENS, bySpeed));
  }

  /** Takes back batches in flight on a backend that was just ejected: they retry elsewhere or fail now. */
  #abortEjected(): void {
    for (const onWire of this.#inflight) {
      if (onWire.backend.state === 'healthy' || onWire.controller.signal.aborted) continue;
      onWire.controller.abort(
        new AttemptAbort(`backend ${onWire.backend.id} was ejected while the batch was in flight`),
      );
    }
  }

  #requeue(job: PromptJob, how: { solo?: boolean; avoid?: Backend }): void {
    job.attempts++;
    job.batch = undefined;
    if (how.solo) job.solo = true;
    if (how.avoid) job.avoid = how.avoid;
    job.queued = true;
    this.#queued++;
    this.#queuedTokens += job.estTokens;
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
    this.#queuedTokens = 0;
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
      this.#queuedTokens -= job.estTokens;
      this.schedulePump(); // the depth changed; the pump reports it
    }
  }

  #reportDepth(): void {
    if (this.#queued === this.#reportedDepth) return;
    this.#reportedDepth = this.#queued;
    this.#observer.queueDepth(this.#model, this.#queued);
  }
}

/**
 * Calls `onTimeout` after `ms` of time in which this process was responsive. A timer that fires late because the
 * event loop was blocked (parsing a huge body, say) is re-armed for the lateness: the backend's answer may be
 * sitting unread in a socket, and the attempt must not be blamed for the controller's own stall.
 */
function lagTolerantTimeout(ms: number, onTimeout: () => void): { clear(): void } {
  let timer: NodeJS.Timeout | undefined;
  const arm = (wait: number) => {
    const due = performance.now() + wait;
    timer = setTimeout(() => {
      const late = performance.now() - due;
      if (late > 50) arm(late);
      else onTimeout();
    }, wait);
  };
  if (Number.isFinite(ms)) arm(ms);
  return { clear: () => clearTimeout(timer) };
}

function oldestQueue(a: JobQueue, b: JobQueue): JobQueue | undefined {
  const pa = a.peek();
  const pb = b.peek();
  if (!pa) return pb ? b : undefined;
  if (!pb) return a;
  return pa.enqueuedAt <= pb.enqueuedAt ? a : b;
}
