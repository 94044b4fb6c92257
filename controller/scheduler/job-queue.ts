/**
 * @module
 * FIFO of prompt jobs for one model and prompt kind, with batch extraction by count and token budget.
 */
import type { Backend } from '../backends/backend.ts';
import type { CompletionChoice } from '../backends/vllm-types.ts';

/** One prompt waiting to be scored. */
export interface PromptJob {
  readonly prompt: string | number[];
  readonly scoreFrom: number;
  readonly estTokens: number;
  readonly withDetail: boolean;
  readonly signal: AbortSignal;
  /** Times this job was sent and had to be resent. */
  attempts: number;
  /** Send alone (after its batch was rejected as a whole). */
  solo: boolean;
  /** Backend that just failed this job: its retry goes elsewhere when another replica can take it. */
  avoid?: Backend;
  settled: boolean;
  enqueuedAt?: number;
  batch?: { jobAborted(): void } | undefined;
  resolve(choice: CompletionChoice): void;
  reject(error: unknown): void;
  onAbort(): void;
}

export class JobQueue {
  #items: PromptJob[] = [];
  #head = 0;

  get size(): number {
    return this.#items.length - this.#head;
  }

  push(job: PromptJob): void {
    job.enqueuedAt ??= performance.now();
    this.#items.push(job);
  }

  pushFront(job: PromptJob): void {
    if (this.#head > 0) this.#items[--this.#head] = job;
    else this.#items.unshift(job);
  }

  /** The next live job, without taking it. */
  peek(): PromptJob | undefined {
    while (this.#head < this.#items.length && this.#items[this.#head]?.settled) this.#advance();
    return this.#items[this.#head];
  }

  oldestEnqueuedAt(): number {
    return this.#items[this.#head]?.enqueuedAt ?? Infinity;
  }

  /** Takes up to `maxPrompts` live jobs within `tokenBudget` (always at least one); drops settled ones. */
  takeBatch(maxPrompts: number, tokenBudget: number): PromptJob[] {
    const batch: PromptJob[] = [];
    let tokens = 0;
    while (this.#head < this.#items.length && batch.length < maxPrompts) {
      const job = this.#items[this.#head] as PromptJob;
      if (job.settled) {
        this.#advance();
        continue;
      }
      if (batch.length > 0 && (job.solo || batch[0]?.solo || tokens + job.estTokens > tokenBudget))
        break;
      batch.push(job);
      tokens += job.estTokens;
      this.#advance();
      if (job.solo) break;
    }
    this.#compact();
    return batch;
  }

  /** Removes and returns every job. */
  drain(): PromptJob[] {
    const rest = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    return rest;
  }

  #advance(): void {
    this.#items[this.#head] = undefined as unknown as PromptJob;
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
