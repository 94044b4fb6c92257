/**
 * @module
 * Prometheus metrics of one controller: HTTP requests (by route pattern, never the raw path), backend calls,
 * queues, batches, tokens scored (by model and by bounded key id), cache, degraded answers and backend health,
 * plus Node's process metrics. Each instance owns its own `Registry`, so two controllers in one process (tests)
 * never share or collide on series. The scheduler reports through the `SchedulerObserver` hooks.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { KeyIdLabels } from './key-id-labels.ts';
import type { BatchOutcome, SchedulerObserver } from './observer.ts';

export interface ControllerMetricsOptions {
  /** Distinct key ids with their own `key_id` label value; later ones are counted as "other". @default 100 */
  readonly maxKeyIds?: number;
  /** Node process metrics (CPU, memory, event loop lag, GC, handles). @default true */
  readonly processMetrics?: boolean;
}

/** Backend states that always have a series (0 or 1), so a dashboard can alert on `unhealthy == 1`. */
const BACKEND_STATES = ['starting', 'healthy', 'unhealthy'] as const;

/** OpenTelemetry's recommended HTTP server buckets, extended for long scoring requests and streams. */
const REQUEST_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60, 300,
];
/** A backend call takes from a few ms (loopback, tiny batch) to tens of seconds (full batch on a busy GPU). */
const BACKEND_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];
/** Up to vLLM's list limit of 1024 prompts. */
const BATCH_PROMPT_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
const BATCH_TOKEN_BUCKETS = [16, 64, 256, 1024, 4096, 16384, 65536];

/** Methods that get their own label value; anything else a scanner sends is "other". */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);

export class ControllerMetrics implements SchedulerObserver {
  readonly registry = new Registry();
  readonly #keyIds: KeyIdLabels;
  readonly #requestDuration: Histogram<'method' | 'route' | 'status'>;
  readonly #backendDuration: Histogram<'model' | 'backend' | 'outcome'>;
  readonly #backendErrors: Counter<'model' | 'backend' | 'code'>;
  readonly #queueDepth: Gauge<'model'>;
  readonly #batchPrompts: Histogram<'model'>;
  readonly #batchTokens: Histogram<'model'>;
  readonly #tokensByModel: Counter<'model'>;
  readonly #tokensByKey: Counter<'key_id'>;
  readonly #textsByKey: Counter<'key_id'>;
  readonly #requestsByKey: Counter<'key_id' | 'route'>;
  readonly #cacheLookups: Counter<'model' | 'result'>;
  readonly #degraded: Counter<'route'>;
  readonly #backendState: Gauge<'model' | 'backend' | 'state'>;
  readonly #activeStreams: Gauge;
  readonly #streamErrors: Counter;

  constructor(options: ControllerMetricsOptions = {}) {
    this.#keyIds = new KeyIdLabels(options.maxKeyIds ?? 100);
    const registers = [this.registry];
    this.#requestDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP requests by method, route pattern and status; a stream counts until its last line',
      labelNames: ['method', 'route', 'status'],
      buckets: REQUEST_BUCKETS,
      registers,
    });
    this.#backendDuration = new Histogram({
      name: 'ep_backend_request_duration_seconds',
      help: 'Batch calls to model backends by outcome (ok or the error code)',
      labelNames: ['model', 'backend', 'outcome'],
      buckets: BACKEND_BUCKETS,
      registers,
    });
    this.#backendErrors = new Counter({
      name: 'ep_backend_errors_total',
      help: 'Failed batch calls to model backends by error code',
      labelNames: ['model', 'backend', 'code'],
      registers,
    });
    this.#queueDepth = new Gauge({
      name: 'ep_queue_depth',
      help: 'Prompt jobs waiting for a backend, per model',
      labelNames: ['model'],
      registers,
    });
    this.#batchPrompts = new Histogram({
      name: 'ep_batch_prompts',
      help: 'Prompts per batch sent to a backend',
      labelNames: ['model'],
      buckets: BATCH_PROMPT_BUCKETS,
      registers,
    });
    this.#batchTokens = new Histogram({
      name: 'ep_batch_tokens',
      help: 'Estimated prompt tokens per batch sent to a backend',
      labelNames: ['model'],
      buckets: BATCH_TOKEN_BUCKETS,
      registers,
    });
    this.#tokensByModel = new Counter({
      name: 'ep_tokens_scored_total',
      help: 'Tokens scored, per model',
      labelNames: ['model'],
      registers,
    });
    this.#tokensByKey = new Counter({
      name: 'ep_key_tokens_scored_total',
      help: 'Tokens scored over all models, per API key id (bounded: late ids share "other")',
      labelNames: ['key_id'],
      registers,
    });
    this.#textsByKey = new Counter({
      name: 'ep_key_texts_scored_total',
      help: 'Texts answered, per API key id (bounded: late ids share "other")',
      labelNames: ['key_id'],
      registers,
    });
    this.#requestsByKey = new Counter({
      name: 'ep_key_requests_total',
      help: 'Scoring requests, per API key id (bounded: late ids share "other") and route',
      labelNames: ['key_id', 'route'],
      registers,
    });
    this.#cacheLookups = new Counter({
      name: 'ep_cache_lookups_total',
      help: 'Result cache lookups by model and result (hit or miss)',
      labelNames: ['model', 'result'],
      registers,
    });
    this.#degraded = new Counter({
      name: 'ep_degraded_responses_total',
      help: 'Responses where some text was scored without every requested model',
      labelNames: ['route'],
      registers,
    });
    this.#backendState = new Gauge({
      name: 'ep_backend_state',
      help: 'Backend health: 1 for the current state of each backend, 0 for the others',
      labelNames: ['model', 'backend', 'state'],
      registers,
    });
    this.#activeStreams = new Gauge({
      name: 'ep_active_streams',
      help: 'Streamed scoring responses in progress',
      registers,
    });
    this.#streamErrors = new Counter({
      name: 'ep_stream_errors_total',
      help: 'Streamed responses that ended with an error line',
      registers,
    });
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  // SchedulerObserver

  batchSent(model: string, _backend: string, prompts: number, tokens: number): void {
    this.#batchPrompts.observe({ model }, prompts);
    this.#batchTokens.observe({ model }, tokens);
  }

  batchDone(model: string, backend: string, seconds: number, outcome: BatchOutcome): void {
    this.#backendDuration.observe({ model, backend, outcome }, seconds);
    if (outcome !== 'ok') this.#backendErrors.inc({ model, backend, code: outcome });
  }

  queueDepth(model: string, depth: number): void {
    this.#queueDepth.set({ model }, depth);
  }

  backendState(model: string, backend: string, state: string): void {
    const states = (BACKEND_STATES as readonly string[]).includes(state)
      ? BACKEND_STATES
      : [...BACKEND_STATES, state];
    for (const s of states)
      this.#backendState.set({ model, backend, state: s }, s === state ? 1 : 0);
  }

  cacheLookups(model: string, hits: number, misses: number): void {
    if (hits > 0) this.#cacheLookups.inc({ model, result: 'hit' }, hits);
    if (misses > 0) this.#cacheLookups.inc({ model, result: 'miss' }, misses);
  }

  // Request path (called by the HTTP middleware)

  /** One HTTP request finished (for a stream: its last line was written). */
  requestDone(method: string, route: string, status: number, seconds: number): void {
    const m = METHODS.has(method) ? method : 'other';
    this.#requestDuration.observe({ method: m, route, status: String(status) }, seconds);
  }

  /** A scoring request arrived for `keyId` (after authentication). */
  scoringRequest(keyId: string | undefined, route: string): void {
    this.#requestsByKey.inc({ key_id: this.#keyIds.label(keyId), route });
  }

  /**
   * `texts` texts were answered; `tokensByModel` holds what each model scored over them. Called once per
   * request (per text only while a stream runs), since every label lookup costs.
   */
  textsScored(
    keyId: string | undefined,
    texts: number,
    tokensByModel: ReadonlyMap<string, number>,
  ): void {
    if (texts === 0) return;
    const key = this.#keyIds.label(keyId);
    let total = 0;
    for (const [model, n] of tokensByModel) {
      this.#tokensByModel.inc({ model }, n);
      total += n;
    }
    this.#textsByKey.inc({ key_id: key }, texts);
    if (total > 0) this.#tokensByKey.inc({ key_id: key }, total);
  }

  /** A response had a degraded ensemble for some text. */
  degradedResponse(route: string): void {
    this.#degraded.inc({ route });
  }

  streamStarted(): void {
    this.#activeStreams.inc();
  }

  streamEnded(failed: boolean): void {
    this.#activeStreams.dec();
    if (failed) this.#streamErrors.inc();
  }

  /** The exposition text for `GET /metrics`. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** Content type of `render()`'s output. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
