/**
 * @module
 * The configured models at run time: each model's backend clients and pool, what discovery learned about it,
 * its scheduler once it is known, and the health monitor that probes its backends from then on. Discovery
 * retries in the background until it succeeds, so the controller can start before its backends and report
 * not-ready meanwhile. `close()` stops every timer and closes every socket.
 */
import type { Logger } from 'pino';
import type { ControllerConfig, ModelConfig } from '../config.ts';
import { Backend } from '../backends/backend.ts';
import { BackendPool } from '../backends/backend-pool.ts';
import { learnGolden } from '../backends/golden-probe.ts';
import type { ModelFingerprint } from '../calibration/model-set.ts';
import type { GoldenProbe } from '../backends/golden-probe.ts';
import { HealthMonitor } from '../backends/health-monitor.ts';
import { discoverModel } from '../backends/model-info.ts';
import type { ModelInfo } from '../backends/model-info.ts';
import { VllmClient } from '../backends/vllm-client.ts';
import { NOOP_OBSERVER } from '../observability/observer.ts';
import type { SchedulerObserver } from '../observability/observer.ts';
import { ModelScheduler } from '../scheduler/model-scheduler.ts';
import { ResultCache } from '../scheduler/result-cache.ts';

export interface RegisteredModel {
  readonly config: ModelConfig;
  readonly pool: BackendPool;
  info?: ModelInfo;
  /** The golden probe learned at discovery: part of the model's calibration fingerprint. */
  golden?: GoldenProbe;
  scheduler?: ModelScheduler;
  monitor?: HealthMonitor;
  discoveryError?: string;
}

export interface ModelRegistryOptions {
  /** Receives batch, queue, backend-state and cache events. @default NOOP_OBSERVER */
  readonly observer?: SchedulerObserver;
}

export class ModelRegistry {
  readonly models: ReadonlyMap<string, RegisteredModel>;
  /** Result cache shared by every model (`cache.maxBytes`). */
  readonly cache: ResultCache;
  readonly #config: ControllerConfig;
  readonly #logger: Logger;
  readonly #observer: SchedulerObserver;
  readonly #stop = new AbortController();
  readonly #discoveries: Promise<void>[] = [];

  constructor(config: ControllerConfig, logger: Logger, options: ModelRegistryOptions = {}) {
    this.#config = config;
    this.#logger = logger;
    this.#observer = options.observer ?? NOOP_OBSERVER;
    this.cache = new ResultCache(config.cache.maxBytes);
    const models = new Map<string, RegisteredModel>();
    for (const mc of config.models) {
      const backends = mc.backends.map(
        (url, i) =>
          new Backend(
            new VllmClient({
              baseUrl: url,
              label: `${mc.name}#${i}`,
              connectTimeoutMs: config.timeouts.connectMs,
            }),
            `${mc.name}#${i}`,
          ),
      );
      const pool = new BackendPool(backends, {
        model: mc.name,
        maxInflightPerBackend: config.scheduler.maxInflightPerBackend,
        failuresToEject: config.health.failuresToEject,
        successesToReadmit: config.health.successesToReadmit,
        observer: this.#observer,
      });
      models.set(mc.name, { config: mc, pool });
    }
    this.models = models;
  }

  /** Starts discovery of every model; resolves when all are discovered or `discoveryMs` has passed. */
  async start(): Promise<void> {
    for (const model of this.models.values()) {
      // A model its host could not download has no server to discover: it stays not ready, without waiting.
      if (model.config.unavailable !== undefined) continue;
      this.#discoveries.push(this.#discover(model));
    }
    const budget = AbortSignal.timeout(this.#config.timeouts.discoveryMs);
    await Promise.race([
      Promise.all(this.#discoveries),
      new Promise<void>((resolve) => {
        budget.addEventListener('abort', () => resolve(), { once: true });
        this.#stop.signal.addEventListener('abort', () => resolve(), { once: true });
      }),
    ]);
  }

  /** Scheduler of a discovered model. */
  scheduler(name: string): ModelScheduler | undefined {
    return this.models.get(name)?.scheduler;
  }

  /** Names of the configured models, in configuration order. */
  get names(): string[] {
    return [...this.models.keys()];
  }

  /** Models that are discovered and have a healthy backend. */
  readyModels(): string[] {
    const ready: string[] = [];
    for (const m of this.models.values())
      if (m.scheduler && m.pool.available) ready.push(m.config.name);
    return ready;
  }

  /**
   * What identifies each model for calibration, with its ensemble weight; null until every configured model is
   * discovered (a calibration can only be checked against the whole set).
   */
  fingerprints(): (ModelFingerprint & { weight: number })[] | null {
    const out: (ModelFingerprint & { weight: number })[] = [];
    for (const m of this.models.values()) {
      if (!m.info || !m.golden) return null;
      out.push({
        name: m.info.name,
        served_name: m.info.servedName,
        max_model_len: m.info.maxModelLen,
        prefix_token_id: m.info.prefixTokenId,
        golden_nll_per_token: m.golden.nllPerToken,
        weight: m.config.weight,
      });
    }
    return out;
  }

  /** Stops discovery and probes, and closes every backend connection. */
  async close(): Promise<void> {
    this.#stop.abort();
    for (const m of this.models.values()) m.monitor?.stop();
    await Promise.allSettled(this.#discoveries);
    await Promise.allSettled(
      [...this.models.values()].flatMap((m) => m.pool.backends.map((b) => b.client.close())),
    );
  }

  /** Learns the model from the first backend that answers, then hands every backend to the health monitor. */
  async #discover(model: RegisteredModel): Promise<void> {
    const { config } = model;
    let delay = 250;
    let attempts = 0;
    while (!this.#stop.signal.aborted) {
      attempts++;
      for (const backend of model.pool.backends) {
        if (this.#stop.signal.aborted) return;
        try {
          const signal = AbortSignal.any([
            this.#stop.signal,
            AbortSignal.timeout(this.#config.health.probeTimeoutMs * 5),
          ]);
          const info = await discoverModel(backend.client, {
            name: config.name,
            ...(config.servedName ? { servedName: config.servedName } : {}),
            ...(config.prefixTokenId !== undefined ? { prefixTokenId: config.prefixTokenId } : {}),
            signal,
          });
          const golden = await learnGolden(
            backend.client,
            info,
            this.#config.scheduler.promptLogprobs,
            signal,
          );
          if (this.#stop.signal.aborted) return;
          this.#install(model, backend, info, golden);
          return;
        } catch (err) {
          model.discoveryError = (err as Error).message;
          backend.lastError = (err as Error).message;
          // Backends take minutes to load their weights: warn on the first failures and then about once a
          // minute (attempts are 5 s apart by then), not on every retry.
          const level = attempts <= 3 || attempts % 12 === 0 ? 'warn' : 'debug';
          this.#logger[level](
            { model: config.name, backend: backend.id, attempts, err: (err as Error).message },
            'discovery failed; retrying',
          );
        }
      }
      await sleep(delay, this.#stop.signal);
      delay = Math.min(delay * 2, 5_000);
    }
  }

  #install(model: RegisteredModel, first: Backend, info: ModelInfo, golden: GoldenProbe): void {
    const config = this.#config;
    model.info = info;
    model.golden = golden;
    model.discoveryError = undefined;
    const scheduler = new ModelScheduler(info, model.pool, {
      batchTokenBudget: config.scheduler.batchTokenBudget,
      maxBatchPrompts: config.scheduler.maxBatchPrompts,
      maxQueuedJobs: config.scheduler.maxQueuedTexts,
      promptLogprobs: golden.promptLogprobs,
      cache: this.cache,
      observer: this.#observer,
    });
    model.scheduler = scheduler;
    model.pool.recordSuccess(first); // starting → healthy
    model.monitor = new HealthMonitor(model.pool, info, golden, {
      intervalMs: config.health.probeIntervalMs,
      timeoutMs: config.health.probeTimeoutMs,
      goldenToleranceNats: config.health.goldenToleranceNats,
      promptLogprobs: golden.promptLogprobs,
      onProbeFailure: (backend, message) =>
        this.#logger.warn({ model: info.name, backend: backend.id, err: message }, 'probe failed'),
      onGoldenMismatch: (backend) => {
        // It served traffic until now: its answers in the cache cannot be told from the good ones.
        this.cache.deletePrefix(scheduler.cacheIdentity);
        this.#logger.error(
          { model: info.name, backend: backend.id },
          'backend answers the golden probe differently from startup: ejected, cached results dropped',
        );
      },
    });
    model.monitor.start();
    this.#logger.info(
      {
        model: info.name,
        servedName: info.servedName,
        maxModelLen: info.maxModelLen,
        prefixTokenId: info.prefixTokenId,
        textPrompts: info.textPrefix !== null,
        goldenNllPerToken: Number(golden.nllPerToken.toFixed(4)),
      },
      'model discovered',
    );
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    t.unref();
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
