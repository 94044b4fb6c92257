/**
 * @module
 * One backend of a model as the pool sees it: its client, whether it may take traffic, and its load.
 */
import type { VllmClient } from './vllm-client.ts';

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
  consecutiveFailures = 0;
  consecutiveSuccesses = 0;
  lastError: string | undefined;

  constructor(client: VllmClient, id: string) {
    this.client = client;
    this.id = id;
  }
}
