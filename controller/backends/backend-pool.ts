/**
 * @module
 * The backends serving one model: picks the healthy one with the least outstanding tokens under a per-backend
 * in-flight cap, and keeps passive health from real traffic (several failures eject, successes readmit).
 */
import { Backend } from './backend.ts';
import type { BackendError } from './errors.ts';

export interface BackendPoolOptions {
  /** Batches in flight per backend. @default 4 */
  readonly maxInflightPerBackend?: number;
  /** Consecutive failures that mark a backend unhealthy. @default 3 */
  readonly failuresToEject?: number;
  /** Consecutive successes that mark an unhealthy backend healthy again. @default 2 */
  readonly successesToReadmit?: number;
}

export class BackendPool {
  readonly backends: readonly Backend[];
  readonly #maxInflight: number;
  readonly #failuresToEject: number;
  readonly #successesToReadmit: number;
  readonly #listeners = new Set<() => void>();

  constructor(backends: readonly Backend[], options: BackendPoolOptions = {}) {
    this.backends = backends;
    this.#maxInflight = options.maxInflightPerBackend ?? 4;
    this.#failuresToEject = options.failuresToEject ?? 3;
    this.#successesToReadmit = options.successesToReadmit ?? 2;
  }

  /** True when some backend may take traffic. */
  get available(): boolean {
    return this.backends.some((b) => b.state === 'healthy');
  }

  /** A healthy backend with spare capacity and the least outstanding tokens, or undefined. */
  pick(exclude?: ReadonlySet<Backend>): Backend | undefined {
    let best: Backend | undefined;
    for (const b of this.backends) {
      if (b.state !== 'healthy' || b.inflight >= this.#maxInflight || exclude?.has(b)) continue;
      if (!best || b.outstandingTokens < best.outstandingTokens) best = b;
    }
    return best;
  }

  /** Any healthy backend regardless of load (for small calls such as /tokenize). */
  anyHealthy(exclude?: ReadonlySet<Backend>): Backend | undefined {
    let best: Backend | undefined;
    for (const b of this.backends) {
      if (b.state !== 'healthy' || exclude?.has(b)) continue;
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

  recordSuccess(backend: Backend): void {
    backend.consecutiveFailures = 0;
    backend.consecutiveSuccesses++;
    if (backend.state !== 'healthy' && backend.consecutiveSuccesses >= this.#successesToReadmit) {
      this.setState(backend, 'healthy');
    }
  }

  recordFailure(backend: Backend, error: BackendError | Error): void {
    backend.consecutiveSuccesses = 0;
    backend.consecutiveFailures++;
    backend.lastError = error.message;
    if (backend.state === 'healthy' && backend.consecutiveFailures >= this.#failuresToEject) {
      this.setState(backend, 'unhealthy');
    }
  }

  setState(backend: Backend, state: Backend['state']): void {
    if (backend.state === state) return;
    backend.state = state;
    if (state === 'healthy') {
      backend.consecutiveFailures = 0;
      backend.lastError = undefined;
    }
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
