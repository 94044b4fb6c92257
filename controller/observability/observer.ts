/**
 * @module
 * What the request path reports about itself. The scheduler and backends call these hooks; metrics.ts turns
 * them into Prometheus series. Keeping the interface here lets the hot path stay free of prom-client.
 */
import type { BackendErrorCode } from '../backends/errors.ts';

export type BatchOutcome = 'ok' | BackendErrorCode;

export interface SchedulerObserver {
  /** A batch of `prompts` prompts (≈ `tokens` tokens) left for `backend`. */
  batchSent(model: string, backend: string, prompts: number, tokens: number): void;
  /** The backend call of a batch ended after `seconds`. */
  batchDone(model: string, backend: string, seconds: number, outcome: BatchOutcome): void;
  /** Prompt jobs waiting for a backend of `model`. */
  queueDepth(model: string, depth: number): void;
  /** A backend changed state (healthy, unhealthy, starting). */
  backendState(model: string, backend: string, state: string): void;
  /** Result-cache lookups of one request for one model (counted per request, not per text). */
  cacheLookups(model: string, hits: number, misses: number): void;
}

/** The observer used when nobody listens. */
export const NOOP_OBSERVER: SchedulerObserver = {
  batchSent() {},
  batchDone() {},
  queueDepth() {},
  backendState() {},
  cacheLookups() {},
};
