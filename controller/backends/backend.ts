/**
 * @module
 * One backend of a model as the pool sees it: its client, whether it may take traffic, and its load.
 */
import type { VllmClient } from './vllm-client.ts';

/**
 * `starting`: not verified yet (takes no traffic); `healthy`: takes traffic; `unhealthy`: ejected by failures
 * or a failed correctness probe, readmitted by consecutive successful probes.
 */
export type BackendState = 'starting' | 'healthy' | 'unhealthy';

export class Backend {
  readonly client: VllmClient;
  /** Public label: `<model>#<n>`; backend URLs stay private. */
  readonly id: string;
  state: BackendState = 'starting';
  /** Batches in flight. */
  inflight = 0;
  /** Estimated prompt tokens in flight: the least-loaded backend is picked by this. */
  outstandingTokens = 0;
  /** Failures (probes and traffic) since the last success. */
  consecutiveFailures = 0;
  /** Successes (probes and traffic) since the last failure. */
  consecutiveSuccesses = 0;
  /** Last failure, for logs; never shown to API callers (it may hold addresses). */
  lastError: string | undefined;
  /**
   * Measured milliseconds per prompt token of a scoring call, from call start to answer (so it includes the time
   * a batch waits behind others on the backend): a moving average, undefined until the first answer. Attempt
   * timeouts, probe deadlines and admission estimates derive from it.
   */
  msPerToken: number | undefined;
  /** When a scoring call last answered (performance.now()), or -Infinity: the backend is demonstrably serving. */
  lastAnsweredAt = -Infinity;

  constructor(client: VllmClient, id: string) {
    this.client = client;
    this.id = id;
  }
}
