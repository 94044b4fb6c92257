/**
 * @module
 * Prompt jobs of one model and prompt kind waiting for a backend, served fairly between tenants (API keys): each
 * tenant has its own FIFO, and batches are filled by deficit round-robin over the tenants with work, so a key
 * that queued 50,000 texts delays another key's single text by at most one quantum per batch, not by its whole
 * backlog. Cancelled jobs stay in place until they reach their FIFO's head (lazy removal keeps cancel O(1)).
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
  /** Who asked (API key id; '' when keys are off): the unit of fairness. */
  readonly tenant: string;
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

/** Estimated tokens a tenant may put into batches per round-robin turn. */
const DEFAULT_QUANTUM_TOKENS = 2_048;

/** One tenant's FIFO. */
class JobFifo {
  #items: (PromptJob | undefined)[] = [];
  #head = 0;
  /** Token credit left from this tenant's turns (deficit round-robin). */
  deficit = 0;
  /** Estimated tokens of the jobs in this FIFO (settled ones until they are dropped). */
  tokens = 0;

  get size(): number {
    return this.#items.length - this.#head;
  }

  push(job: PromptJob): void {
    this.#items.push(job);
    this.tokens += job.estTokens;
  }

  pushFront(job: PromptJob): void {
    if (this.#head > 0) this.#items[--this.#head] = job;
    else this.#items.unshift(job);
    this.tokens += job.estTokens;
  }

  /** The next live job, dropping settled ones before it. */
  peek(): PromptJob | undefined {
    while (this.#head < this.#items.length && this.#items[this.#head]?.settled) this.shift();
    return this.#items[this.#head];
  }

  shift(): PromptJob | undefined {
    const job = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head++;
    if (job) this.tokens -= job.estTokens;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return job;
  }

  drain(): PromptJob[] {
    const rest = this.#items.slice(this.#head) as PromptJob[];
    this.#items = [];
    this.#head = 0;
    return rest;
  }
}

export class JobQueue {
  readonly #fifos = new Map<string, JobFifo>();
  /** Tenants with queued jobs, in round-robin order; `#turn` is whose turn it is. */
  #ring: string[] = [];
  #turn = 0;
  #size = 0;
  readonly #quantum: number;

  /** @param quantumTokens estimated tokens a tenant may add to batches per turn */
  constructor(quantumTokens = DEFAULT_QUANTUM_TOKENS) {
    this.#quantum = quantumTokens;
  }

  /** Jobs in the queue, cancelled ones included until they reach their FIFO's head. */
  get size(): number {
    return this.#size;
  }

  /** Tenants with queued jobs. */
  get tenants(): number {
    return this.#ring.length;
  }

  /** Estimated tokens `tenant` has queued. */
  tokensOf(tenant: string): number {
    return this.#fifos.get(tenant)?.tokens ?? 0;
  }

  push(job: PromptJob): void {
    this.#fifo(job.tenant).push(job);
    this.#size++;
  }

  /** Puts a job back at the head of its tenant's FIFO (a retry keeps its place). */
  pushFront(job: PromptJob): void {
    this.#fifo(job.tenant).pushFront(job);
    this.#size++;
  }

  /** The live job the next batch starts with, without taking it. */
  peek(): PromptJob | undefined {
    while (this.#ring.length > 0) {
      const tenant = this.#ring[this.#turn] as string;
      const fifo = this.#fifos.get(tenant) as JobFifo;
      const sizeBefore = fifo.size;
      const job = fifo.peek();
      this.#size -= sizeBefore - fifo.size;
      if (job) return job;
      this.#dropTenant(this.#turn);
    }
    return undefined;
  }

  /**
   * Takes up to `maxPrompts` live jobs within `tokenBudget` (always at least one) for `backend`, tenants taking
   * turns; a tenant whose next job must avoid that backend or must go alone sits this batch out.
   */
  takeBatch(maxPrompts: number, tokenBudget: number, backend: Backend): PromptJob[] {
    const batch: PromptJob[] = [];
    let tokens = 0;
    // Tenants passed over in a row: once every tenant was visited without adding a job, the batch is done.
    let idle = 0;
    while (this.#ring.length > 0 && batch.length < maxPrompts && idle < this.#ring.length) {
      const index = this.#turn;
      const fifo = this.#fifos.get(this.#ring[index] as string) as JobFifo;
      fifo.deficit += this.#quantum;
      let added = 0;
      for (;;) {
        const sizeBefore = fifo.size;
        const job = fifo.peek();
        this.#size -= sizeBefore - fifo.size;
        if (!job) break;
        if (batch.length > 0) {
          if (job.solo || job.avoid === backend) break;
          if (tokens + job.estTokens > tokenBudget) {
            // The batch is full by tokens: end it here, this tenant keeps its turn and credit.
            return this.#finishBatch(batch, fifo);
          }
          if (added > 0 && job.estTokens > fifo.deficit) break;
        }
        fifo.shift();
        this.#size--;
        job.queued = false;
        batch.push(job);
        tokens += job.estTokens;
        fifo.deficit -= job.estTokens;
        added++;
        if (job.solo || batch.length >= maxPrompts) return this.#finishBatch(batch, fifo, true);
      }
      idle = added > 0 ? 0 : idle + 1;
      if (fifo.size === 0) this.#dropTenant(index);
      else this.#advanceTurn();
    }
    return batch;
  }

  /** Removes and returns every job. */
  drain(): PromptJob[] {
    const rest: PromptJob[] = [];
    for (const fifo of this.#fifos.values()) for (const job of fifo.drain()) rest.push(job);
    this.#fifos.clear();
    this.#ring = [];
    this.#turn = 0;
    this.#size = 0;
    for (const job of rest) job.queued = false;
    return rest;
  }

  #finishBatch(batch: PromptJob[], fifo: JobFifo, turnUsed = false): PromptJob[] {
    const index = this.#turn;
    if (fifo.size === 0) this.#dropTenant(index);
    else if (turnUsed) this.#advanceTurn();
    return batch;
  }

  #fifo(tenant: string): JobFifo {
    let fifo = this.#fifos.get(tenant);
    if (!fifo) {
      fifo = new JobFifo();
      this.#fifos.set(tenant, fifo);
      // A tenant new to the ring goes last in the current round.
      this.#ring.splice(this.#turn, 0, tenant);
      if (this.#ring.length > 1) this.#turn++;
    }
    return fifo;
  }

  #advanceTurn(): void {
    this.#turn = (this.#turn + 1) % this.#ring.length;
  }

  #dropTenant(index: number): void {
    const tenant = this.#ring[index] as string;
    this.#fifos.delete(tenant);
    this.#ring.splice(index, 1);
    if (this.#turn > index) this.#turn--;
    if (this.#turn >= this.#ring.length) this.#turn = 0;
  }
}
