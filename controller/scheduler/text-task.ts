/**
 * @module
 * Shared work on one distinct text for one model, and the requests waiting on it. Completion is pushed to the
 * waiters by callback (no promise per text per request): a request resolves once, when its last text is in.
 * The last waiter to leave (deadline, disconnect) cancels the work.
 */
import type { PromptJob } from './job-queue.ts';
import type { ModelTextScore, TextOutcome } from './text-score.ts';

/** One request's wait on its texts for one model. */
export class RequestWait {
  readonly out: TextOutcome[];
  /** Texts still unanswered. */
  left = 0;
  readonly #done: (out: TextOutcome[]) => void;

  constructor(texts: number, done: (out: TextOutcome[]) => void) {
    this.out = new Array<TextOutcome>(texts);
    this.#done = done;
  }

  /** Fills slot `index` unless it was filled already; resolves the request with its last text. */
  answer(index: number, outcome: TextOutcome): void {
    if (this.out[index] !== undefined) return;
    this.out[index] = outcome;
    if (--this.left === 0) this.#done(this.out);
  }
}

/** A request's claim on a task: where in that request the text sits. */
export interface TaskWaiter {
  readonly request: RequestWait;
  readonly index: number;
}

export class TextTask {
  readonly text: string;
  readonly withDetail: boolean;
  readonly cacheKey: string | undefined;
  /** Whether its score goes into the result cache (some waiting request asked for it). */
  store = false;
  readonly waiters: TaskWaiter[] = [];
  /** Waiters that have not left. */
  live = 0;
  /** Answered, failed, or cancelled because nobody waits any more. */
  done = false;
  cancelled = false;
  readonly jobs: PromptJob[] = [];
  /** Aborts `/tokenize` calls of the task; created only for texts that need one. */
  controller: AbortController | undefined;

  constructor(text: string, withDetail: boolean, cacheKey: string | undefined) {
    this.text = text;
    this.withDetail = withDetail;
    this.cacheKey = cacheKey;
  }

  join(request: RequestWait, index: number): void {
    this.waiters.push({ request, index });
    this.live++;
    request.left++;
  }

  /** Settles the task and answers every waiter still there. False when it was settled already. */
  settle(outcome: { ok: true; score: ModelTextScore } | { ok: false; error: unknown }): boolean {
    if (this.done) return false;
    this.done = true;
    const answer: TextOutcome = outcome.ok
      ? { ok: true, score: outcome.score, cached: false }
      : { ok: false, error: outcome.error };
    for (const w of this.waiters) w.request.answer(w.index, answer);
    return true;
  }
}
