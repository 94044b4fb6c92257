/**
 * @module
 * The backends serving one model: picks the healthy one with the least outstanding tokens under a per-backend
 * in-flight cap, and applies health hysteresis to what traffic and probes report (`failuresToEject`
 * consecutive failures eject a healthy backend, `successesToReadmit` consecutive successes readmit it).
 */
import { NOOP_OBSERVER } from '../observability/observer.ts';
import type { SchedulerObserver } from '../observability/observer.ts';
import type { Backend, BackendState } from './backend.ts';

/** Assumed cost of a prompt token before a backend has answered (an L4 scores 7B models about 2x faster). */
export const UNMEASURED_MS_PER_TOKEN = 0.5;

export interface BackendPoolOptions {
  /** Model name, for observer labels. @default 'model' */
  readonly model?: string;
  /** Batches in flight per backend. @default 4 */
  readonly maxInflightPerBackend?: number;
  /**
   * Expected ms of work in flight on one backend beyond which it takes no new batch (while it has one): work
   * sent early only waits on the backend, where fairness between callers no longer applies. @default 2000
   */
  readonly maxInflightMs?: number;
  /** Consecutive failures that eject a healthy backend. @default 3 */
  readonly failuresToEject?: number;
  /** Consecutive successes that readmit an unhealthy backend. @default 2 */
  readonly successesToReadmit?: number;
  /** Receives state changes. @default NOOP_OBSERVER */
  readonly observer?: SchedulerObserver;
}

export class BackendPool {
  readonly backends: readonly Backend[];
  readonly model: string;
  readonly #maxInflight: number;
  readonly #maxInflightMs: number;
  readonly #failuresToEject: number;
  readonly #successesToReadmit: number;
  readonly #observer: SchedulerObserver;
  readonly #listeners = new Set<() => void>();

  constructor(backends: readonly Backend[], options: BackendPoolOptions = {}) {
    this.backends = backends;
    this.model = options.model ?? 'model';
    this.#maxInflight = options.maxInflightPerBackend ?? 4;
    this.#maxInflightMs = options.maxInflightMs ?? 2_000;
    this.#failuresToEject = options.failuresToEject ?? 3;
    this.#successesToReadmit = options.successesToReadmit ?? 2;
    this.#observer = options.observer ?? NOOP_OBSERVER;
    for (const b of backends) this.#observer.backendState(this.model, b.id, b.state);
  }

  /** True when some backend may take traffic. */
  get available(): boolean {
    for (const b of this.backends) if (b.state === 'healthy') return true;
    return false;
  }

  /** A healthy backend other than `avoid` with spare capacity and the least outstanding tokens. */
  pick(avoid?: Backend): Backend | undefined {
    let best: Backend | undefined;
    for (const b of this.backends) {
      if (b.state !== 'healthy' || b.inflight >= this.#maxInflight || b === avoid) continue;
      if (
        b.inflight > 0 &&
        b.msPerToken !== undefined &&
        b.outstandingTokens * b.msPerToken > this.#maxInflightMs
      ) {
        continue;
      }
      if (!best || b.outstandingTokens < best.outstandingTokens) best = b;
    }
    return best;
  }

  /** A healthy backend other than `avoid` regardless of load (for small calls such as /tokenize). */
  anyHealthy(avoid?: Backend): Backend | undefined {
    let best: Backend | undefined;
    for (const b of this.backends) {
      if (b.state !== 'healthy' || b === avoid) continue;
      if (!best || b.inflight < best.inflight) best = b;
    }
    return best;
  }

  acquire(backend: Backend, tokens: number): void {
    backend.inflight++;
    backend.outstandingTokens += tokens;
  }

  release(backend: Backend, tokens: number): void {
    backend.inflight--;
    backend.outstandingTokens -= tokens;
    this.#notify();
  }

  /**
   * A scoring call of `tokens` estimated prompt tokens, sent at `sentAt` (performance.now()), answered now:
   * updates the backend's measured cost per token. The call's service time runs from when it was sent or the
   * backend's previous answer, whichever is later (work on a backend overlaps or queues; either way the gaps
   * between answers are what each call cost). Small calls weigh less: fixed costs dominate them.
   */
  recordLatency(backend: Backend, tokens: number, sentAt: number): void {
    const now = performance.now();
    const serviceMs = now - Math.max(sentAt, backend.lastAnsweredAt);
    backend.lastAnsweredAt = now;
    if (tokens <= 0 || !(serviceMs >= 0)) return;
    const sample = serviceMs / tokens;
    const weight = Math.min(0.3, tokens / 2_000);
    backend.msPerToken =
      backend.msPerToken === undefined
        ? sample
        : backend.msPerToken + weight * (sample - backend.msPerToken);
  }

  /** Expected ms per prompt token of a backend: measured, or a cautious guess before its first answer. */
  msPerToken(backend: Backend): number {
    return backend.msPerToken ?? UNMEASURED_MS_PER_TOKEN;
  }

  /** Prompt tokens per second the healthy backends score together, or undefined when none is healthy. */
  throughput(): number | undefined {
    let perMs = 0;
    let healthy = false;
    for (const b of this.backends) {
      if (b.state !== 'healthy') continue;
      healthy = true;
      perMs += 1 / Math.max(this.msPerToken(b), 1e-6);
    }
    return healthy ? perMs * 1000 : undefined;
  }

  /** A call or probe succeeded. A `starting` backend is admitted at once; an ejected one after the streak. */
  recordSuccess(backend: Backend): void {
    backend.consecutiveFailures = 0;
    backend.consecutiveSuccesses++;
    if (
      backend.state === 'starting' ||
      (backend.state === 'unhealthy' && backend.consecutiveSuccesses >= this.#successesToReadmit)
    ) {
      this.setState(backend, 'healthy');
    }
  }

  /** A call or probe failed for a reason that is the backend's (not the input's, not the caller's). */
  recordFailure(backend: Backend, error: Error): void {
    backend.consecutiveSuccesses = 0;
    backend.consecutiveFailures++;
    backend.lastError = error.message;
    if (backend.state === 'healthy' && backend.consecutiveFailures >= this.#failuresToEject) {
      this.setState(backend, 'unhealthy');
    }
  }

  /** Ejects at once, without waiting for a streak: for failures that are never transient (wrong weights). */
  eject(backend: Backend, reason: string): void {
    backend.consecutiveSuccesses = 0;
    backend.consecutiveFailures++;
    backend.lastError = reason;
    this.setState(backend, 'unhealthy');
  }

  setState(backend: Backend, state: BackendState): void {
    if (backend.state === state) return;
    backend.state = state;
    if (state === 'healthy') {
      backend.consecutiveFailures = 0;
      backend.lastError = undefined;
    }
    // A readmitted backend must earn a fresh streak next time.
    backend.consecutiveSuccesses = 0;
    this.#observer.backendState(this.model, backend.id, state);
    this.#notify();
  }

  /** Called whenever capacity may have freed up or health changed: the scheduler pumps its queue. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #notify(): void {
    for (const l of this.#listeners) l();
  }
}
