/**
 * @module
 * Active health checks of one model's backends: every `intervalMs`, each backend gets `GET /health` and the
 * golden scoring probe, both within `timeoutMs`. Results feed the pool's hysteresis alongside passive results
 * from traffic; a golden mismatch ejects at once. An ejected backend keeps being probed, which is what
 * readmits it once it recovers. Timers are unref'd and stop on `stop()`.
 *
 * A busy backend answers probes late: the golden probe queues behind the batches already on it. So a probe's
 * deadline grows by the expected time of the tokens in flight on that backend (at its measured rate), and a probe
 * that failed while the backend kept answering traffic is not counted: traffic already proves it serves.
 */
import type { Backend } from './backend.ts';
import type { BackendPool } from './backend-pool.ts';
import { scoreGolden } from './golden-probe.ts';
import type { GoldenProbe } from './golden-probe.ts';
import type { ModelInfo } from './model-info.ts';

export interface HealthMonitorOptions {
  /** Probe period per backend in ms. @default 5000 */
  readonly intervalMs?: number;
  /** Deadline of one probe (health + golden) in ms. @default 2000 */
  readonly timeoutMs?: number;
  /** Allowed drift of the golden NLL per token, in nats. @default 0.05 */
  readonly goldenToleranceNats?: number;
  /** `prompt_logprobs` of the golden request (as real traffic sends). @default 0 */
  readonly promptLogprobs?: number;
  /** Told about every probe outcome that is not a plain success (for logs). @default - nothing */
  readonly onProbeFailure?: (backend: Backend, message: string) => void;
  /**
   * Told when a backend fails the golden probe: what it answered before may have come from other weights
   * (the registry drops the model's cached results). @default - nothing
   */
  readonly onGoldenMismatch?: (backend: Backend) => void;
}

export type ProbeOutcome = { ok: true } | { ok: false; mismatch: boolean; message: string };

export class HealthMonitor {
  readonly #pool: BackendPool;
  readonly #info: ModelInfo;
  readonly #golden: GoldenProbe | undefined;
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #tolerance: number;
  readonly #promptLogprobs: number;
  readonly #onProbeFailure: ((backend: Backend, message: string) => void) | undefined;
  readonly #onGoldenMismatch: ((backend: Backend) => void) | undefined;
  readonly #running = new Set<Backend>();
  readonly #stop = new AbortController();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    pool: BackendPool,
    info: ModelInfo,
    golden: GoldenProbe | undefined,
    options: HealthMonitorOptions = {},
  ) {
    this.#pool = pool;
    this.#info = info;
    this.#golden = golden;
    this.#intervalMs = options.intervalMs ?? 5_000;
    this.#timeoutMs = options.timeoutMs ?? 2_000;
    this.#tolerance = options.goldenToleranceNats ?? 0.05;
    this.#promptLogprobs = options.promptLogprobs ?? 0;
    this.#onProbeFailure = options.onProbeFailure;
    this.#onGoldenMismatch = options.onGoldenMismatch;
  }

  /** Probes every backend now and then every interval. */
  start(): void {
    if (this.#timer || this.#stop.signal.aborted) return;
    this.#tick();
    this.#timer = setInterval(() => this.#tick(), this.#intervalMs);
    // Probes never keep the process alive on their own.
    this.#timer.unref();
  }

  /** Stops the timer and aborts probes in flight. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#stop.abort();
  }

  /** One probe of one backend, applied to the pool. Exposed for tests. */
  async probe(backend: Backend): Promise<ProbeOutcome> {
    const started = performance.now();
    const outcome = await this.#check(backend);
    if (this.#stop.signal.aborted) return outcome;
    if (!outcome.ok && !outcome.mismatch && backend.lastAnsweredAt > started) return { ok: true };
    if (outcome.ok) this.#pool.recordSuccess(backend);
    else {
      if (outcome.mismatch) {
        const wasServing = backend.state === 'healthy';
        this.#pool.eject(backend, outcome.message);
        if (wasServing) this.#onGoldenMismatch?.(backend);
      } else this.#pool.recordFailure(backend, new Error(outcome.message));
      this.#onProbeFailure?.(backend, outcome.message);
    }
    return outcome;
  }

  #tick(): void {
    for (const backend of this.#pool.backends) {
      // A probe still waiting on a hung backend is not doubled; its own timeout will count the failure.
      if (this.#running.has(backend)) continue;
      this.#running.add(backend);
      void this.probe(backend).finally(() => this.#running.delete(backend));
    }
  }

  async #check(backend: Backend): Promise<ProbeOutcome> {
    const queuedAhead = Math.ceil(backend.outstandingTokens * (backend.msPerToken ?? 0));
    const signal = AbortSignal.any([
      this.#stop.signal,
      AbortSignal.timeout(this.#timeoutMs + queuedAhead),
    ]);
    try {
      await backend.client.health(signal);
      if (backend.state === 'starting') await this.#sameModel(backend, signal);
      if (!this.#golden) return { ok: true };
      const nllPerToken = await scoreGolden(
        backend.client,
        this.#info,
        this.#golden.prompt,
        this.#promptLogprobs,
        signal,
      );
      const drift = Math.abs(nllPerToken - this.#golden.nllPerToken);
      if (!(drift <= this.#tolerance)) {
        return {
          ok: false,
          mismatch: true,
          message: `golden probe drifted ${drift.toFixed(4)} nats/token (tolerance ${this.#tolerance}): other weights?`,
        };
      }
      return { ok: true };
    } catch (err) {
      return { ok: false, mismatch: false, message: `probe failed: ${(err as Error).message}` };
    }
  }

  /** A replica that was never verified must serve the model under the same name and context length. */
  async #sameModel(backend: Backend, signal: AbortSignal): Promise<void> {
    const cards = await backend.client.models(signal);
    const card = cards.find((c) => c.id === this.#info.servedName);
    if (!card) throw new Error(`does not serve ${this.#info.servedName}`);
    if (card.max_model_len !== undefined && card.max_model_len !== this.#info.maxModelLen) {
      throw new Error(
        `max_model_len ${card.max_model_len} differs from ${this.#info.maxModelLen} of the first replica`,
      );
    }
  }
}
