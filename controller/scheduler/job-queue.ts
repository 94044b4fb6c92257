/**
 * @module
 * FIFO of prompt jobs for one model and prompt kind, with batch extraction by count and token budget.
 * Cancelled jobs stay in place until they reach the head (lazy removal keeps cancel O(1)).
 */
import type { Backend } from '../backends/backend.ts';
import type { ScoredChoice } from '../backends/scored-choice.ts';

/** The backend call a job rides in; cancelled when its last live job leaves. */
export interface BatchHandle {
  jobLeft(): void;
}

/** One prompt waiting to be scored. */
export interface PromptJob {
  readonly prompt: string | number[];
  /** First prompt position whose logprob counts. */
  readonly scoreFrom: number;
  readonly estTokens: number;
  readonly withDetail: boolean;
  /** Times this job was sent and had to be resent. */
  attempts: number;
  /** Send alone (after its batch was rejected as a whole). */
  solo: boolean;
  /** Backend that just failed this job: its retry goes elsewhere. */
  avoid: Backend | undefined;
  /** Answered, failed or cancelled: nothing may touch it any more. */
  settled: boolean;
  /** Waiting in a queue (as opposed to in flight). */
  queued: boolean;
  enqueuedAt: number;
  batch: BatchHandle | undefined;
  resolve(choice: ScoredChoice): void;
  reject(error: unknown): void;
}

export class JobQueue {
  #items: (PromptJob | undefined)[] = [];
  #head = 0;

  /** Jobs in the queue, cancelled ones included until they reach the head. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  push(job: PromptJob): void {
    this.#items.push(job);
  }

  pushFront(job: PromptJob): void {
    if (this.#head > 0) this.#items[--this.#head] = job;
    else this.#items.unshift(job);
  }

  /** The next live job, without taking it. */
  peek(): PromptJob | undefined {
    this.#dropSettled();
    return this.#items[this.#head];
  }

  /**
   * Takes up to `maxPrompts` live jobs within `tokenBudget` (always at least one) for `backend`; stops before a
   * job that must avoid that backend or must go alone.
   */
  takeBatch(maxPrompts: number, tokenBudget: number, backend: Backend): PromptJob[] {
    const batch: PromptJob[] = [];
    let tokens = 0;
    while (this.#head < this.#items.length && batch.length < maxPrompts) {
      const job = this.#items[this.#head] as PromptJob;
      if (job.settled) {
        this.#advance();
        continue;
      }
      if (batch.length > 0) {
        if (job.solo || job.avoid === backend || tokens + job.estTokens > tokenBudget) break;
      }
      batch.push(job);
      job.queued = false;
      tokens += job.estTokens;
      this.#advance();
      if (job.solo) break;
    }
    this.#compact();
    return batch;
  }

  /** Removes and returns every job. */
  drain(): PromptJob[] {
    const rest = this.#items.slice(this.#head) as PromptJob[];
    this.#items = [];
    this.#head = 0;
    for (const job of rest) job.queued = false;
    return rest;
  }

  #dropSettled(): void {
    while (this.#head < this.#items.length && this.#items[this.#head]?.settled) this.#advance();
    this.#compact();
  }

  #advance(): void {
    this.#items[this.#head] = undefined;
    this.#head++;
  }

  #compact(): void {
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }
}
