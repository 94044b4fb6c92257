/**
 * @module
 * A stand-in for vLLM's engine loop: prompts queue as sequences, each step takes sequences in FIFO order up to
 * `maxSeqs` sequences and `maxTokens` tokens, and lasts `stepMs + max(floorMs, tokenMs × tokens)`. The step
 * planner is a pure function (`nextStep`, `planCall`) so it can be tested without a clock; `Engine` drives it
 * with timers and keeps the running/waiting gauges vLLM exports. (The model itself is a ModelEngine: this only
 * emulates how long a GPU takes.)
 */
import type { TimingProfile } from './timing-profiles.ts';

export interface Sequence {
  /** Prompt tokens still to prefill. */
  remaining: number;
  /** Whether it has been in a step (vLLM "running") or not yet ("waiting"). */
  started: boolean;
}

export interface Step {
  /** Tokens each chosen sequence processes in this step, by index into the queue. */
  picks: { index: number; tokens: number }[];
  tokens: number;
  ms: number;
}

/** Duration of a step with this many tokens. */
export function stepMs(profile: TimingProfile, tokens: number): number {
  return profile.stepMs + Math.max(profile.floorMs, profile.tokenMs * tokens);
}

/** Picks the next step from a FIFO queue of sequences; null when nothing is queued. */
export function nextStep(queue: readonly Sequence[], profile: TimingProfile): Step | null {
  const picks: Step['picks'] = [];
  let tokens = 0;
  for (let i = 0; i < queue.length && picks.length < profile.maxSeqs; i++) {
    const room = profile.maxTokens - tokens;
    if (room <= 0) break;
    const want = queue[i]!.remaining;
    if (profile.chunkedPrefill) {
      const take = Math.min(want, room);
      picks.push({ index: i, tokens: take });
      tokens += take;
    } else {
      // V0 schedules whole prompts; a prompt larger than the budget still runs alone.
      if (want > room && picks.length > 0) break;
      picks.push({ index: i, tokens: want });
      tokens += want;
    }
  }
  return picks.length ? { picks, tokens, ms: stepMs(profile, tokens) } : null;
}

/** Modelled duration of one call with these prompt lengths on an idle engine: A + Σ steps. */
export function planCall(
  promptTokens: readonly number[],
  profile: TimingProfile,
): { steps: Step[]; ms: number } {
  const queue: Sequence[] = promptTokens.map((t) => ({ remaining: t, started: false }));
  const steps: Step[] = [];
  let ms = profile.callMs;
  for (let step = nextStep(queue, profile); step; step = nextStep(queue, profile)) {
    steps.push(step);
    ms += step.ms;
    for (const p of step.picks) queue[p.index]!.remaining -= p.tokens;
    for (let i = queue.length - 1; i >= 0; i--) if (queue[i]!.remaining <= 0) queue.splice(i, 1);
  }
  return { steps, ms };
}

/** The clock the engine steps by: real timers by default, a manual one in tests. */
export interface EngineClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const REAL_CLOCK: EngineClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

interface Job {
  seqs: Sequence[];
  left: number;
  /** When its prompts could first enter a step: arrival plus the per-call cost, on the emulated clock. */
  readyAt: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Live emulator: callers `await gpu.run(promptTokens, signal)`; steps run one after another on timers. */
export class GpuEmulator {
  private readonly queue: (Sequence & { job: Job })[] = [];
  private timer: unknown = null;
  private readonly timers = new Set<unknown>();
  private closed = false;
  /** When the step in flight (or the last one) ends on the emulated GPU's clock (`performance.now()` ms). */
  private stepEnd = 0;

  constructor(
    private readonly profile: TimingProfile,
    private readonly clock: EngineClock = REAL_CLOCK,
  ) {}

  /** The emulator's clock now (ms): what `run` takes as the arrival time. */
  now(): number {
    return this.clock.now();
  }

  get running(): number {
    return this.queue.filter((s) => s.started).length;
  }

  get waiting(): number {
    return this.queue.filter((s) => !s.started).length;
  }

  /**
   * Waits the per-call cost, then until every prompt of the call has been prefilled, both counted from
   * `arrivedAt`: the stand-in's own CPU work before it knows the prompts' lengths (its JavaScript tokenizer,
   * much slower than vLLM's Rust one) overlaps the emulated time instead of adding to it.
   * @param arrivedAt when the call arrived, on this emulator's clock (`now()`) @default now
   */
  async run(
    promptTokens: readonly number[],
    signal?: AbortSignal,
    arrivedAt = this.clock.now(),
  ): Promise<void> {
    const readyAt = arrivedAt + this.profile.callMs;
    const wait = readyAt - this.clock.now();
    if (wait > 0) await this.sleep(wait, signal);
    signal?.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      const job: Job = { seqs: [], left: promptTokens.length, readyAt, resolve, reject };
      for (const t of promptTokens) {
        const seq = { remaining: Math.max(1, t), started: false, job };
        job.seqs.push(seq);
        this.queue.push(seq);
      }
      // An aborted call leaves the queue, as vLLM aborts the request when the client disconnects.
      signal?.addEventListener(
        'abort',
        () => {
          for (let i = this.queue.length - 1; i >= 0; i--)
            if (this.queue[i]!.job === job) this.queue.splice(i, 1);
          reject(signal.reason);
        },
        { once: true },
      );
      if (job.left === 0) resolve();
      this.kick();
    });
  }

  private sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const t = this.clock.setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
      signal?.addEventListener(
        'abort',
        () => {
          this.clock.clearTimeout(t);
          this.timers.delete(t);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }

  /**
   * Starts the next step. The clock runs on absolute deadlines: a step that follows another starts when that one
   * ended on the emulated GPU, not when its timer happened to fire, so a late timer (a busy event loop) delays
   * one answer but never the steps after it. An idle engine starts its next step when the earliest of its calls
   * was ready (which may have passed while the stand-in tokenized), but never before the last step ended.
   * @param continuing called as the previous step ended (the GPU goes straight on)
   */
  private kick(continuing = false): void {
    if (this.timer || this.closed) return;
    const step = nextStep(this.queue, this.profile);
    if (!step) return;
    const chosen = step.picks.map((p) => ({ seq: this.queue[p.index]!, tokens: p.tokens }));
    for (const c of chosen) c.seq.started = true;
    const now = this.clock.now();
    let start = now;
    if (continuing) start = Math.min(this.stepEnd, now);
    else {
      let ready = now;
      for (const c of chosen) ready = Math.min(ready, c.seq.job.readyAt);
      start = Math.max(this.stepEnd, ready);
    }
    this.stepEnd = start + step.ms;
    this.timer = this.clock.setTimeout(
      () => {
        this.timer = null;
        for (const { seq, tokens } of chosen) {
          seq.remaining -= tokens;
          if (seq.remaining > 0) continue;
          const i = this.queue.indexOf(seq);
          if (i < 0) continue; // aborted meanwhile
          this.queue.splice(i, 1);
          if (--seq.job.left === 0) seq.job.resolve();
        }
        this.kick(true);
      },
      Math.max(0, this.stepEnd - now),
    );
  }

  /** Stops the loop and fails everything queued. */
  close(): void {
    this.closed = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    for (const t of this.timers) this.clock.clearTimeout(t);
    this.timers.clear();
    const err = new Error('engine closed');
    for (const s of this.queue.splice(0)) s.job.reject(err);
  }
}
