/**
 * @module
 * The configured models at run time: each model's backend clients and pool, what discovery learned about it,
 * and its scheduler once it is known. Discovery retries in the background until it succeeds, so the controller
 * can start before its backends and report not-ready meanwhile.
 */
import type { Logger } from 'pino';
import type { ControllerConfig, ModelConfig } from '../config.ts';
import { Backend } from '../backends/backend.ts';
import { BackendPool } from '../backends/backend-pool.ts';
import { discoverModel } from '../backends/model-info.ts';
import type { ModelInfo } from '../backends/model-info.ts';
import { VllmClient } from '../backends/vllm-client.ts';
import { ModelScheduler } from './model-scheduler.ts';

export interface RegisteredModel {
  readonly config: ModelConfig;
  readonly pool: BackendPool;
  info?: ModelInfo;
  scheduler?: ModelScheduler;
  discoveryError?: string;
}

export class ModelRegistry {
  readonly models: ReadonlyMap<string, RegisteredModel>;
  readonly #config: ControllerConfig;
  readonly #logger: Logger;
  readonly #stop = new AbortController();
  readonly #discoveries: Promise<void>[] = [];

  constructor(config: ControllerConfig, logger: Logger) {
    this.#config = config;
    this.#logger = logger;
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
        maxInflightPerBackend: config.scheduler.maxInflightPerBackend,
        failuresToEject: config.health.failuresToEject,
        successesToReadmit: config.health.successesToReadmit,
      });
      models.set(mc.name, { config: mc, pool });
    }
    this.models = models;
  }

  /** Starts discovery of every model; resolves when all are discovered or `discoveryMs` has passed. */
  async start(): Promise<void> {
    for (const model of this.models.values()) this.#discoveries.push(this.#discover(model));
    const budget = AbortSignal.timeout(this.#config.timeouts.discoveryMs);
    await Promise.race([
      Promise.all(this.#discoveries),
      new Promise<void>((resolve) =>
        budget.addEventListener('abort', () => resolve(), { once: true }),
      ),
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
    return [...this.models.values()]
      .filter((m) => m.scheduler && m.pool.available)
      .map((m) => m.config.name);
  }

  async close(): Promise<void> {
    this.#stop.abort();
    await Promise.allSettled(
      [...this.models.values()].flatMap((m) => m.pool.backends.map((b) => b.client.close())),
    );
  }

  async #discover(model: RegisteredModel): Promise<void> {
    const { config } = model;
    let delay = 250;
    while (!this.#stop.signal.aborted) {
      for (const backend of model.pool.backends.filter((b) => b.state !== 'healthy')) {
        try {
          const info = await discoverModel(backend.client, {
            name: config.name,
            ...(config.servedName ? { servedName: config.servedName } : {}),
            ...(config.prefixTokenId !== undefined ? { prefixTokenId: config.prefixTokenId } : {}),
            signal: AbortSignal.any([
              this.#stop.signal,
              AbortSignal.timeout(this.#config.health.probeTimeoutMs * 5),
            ]),
          });
          if (!model.info) {
            model.info = info;
            model.scheduler = new ModelScheduler(info, model.pool, {
              batchTokenBudget: this.#config.scheduler.batchTokenBudget,
              maxBatchPrompts: this.#config.scheduler.maxBatchPrompts,
              maxQueuedJobs: this.#config.scheduler.maxQueuedTexts,
            });
            this.#logger.info(
              {
                model: config.name,
                servedName: info.servedName,
                maxModelLen: info.maxModelLen,
                prefixTokenId: info.prefixTokenId,
                addsPrefixItself: info.addsPrefixItself,
              },
              'model discovered',
            );
          }
          model.discoveryError = undefined;
          model.pool.setState(backend, 'healthy');
        } catch (err) {
          model.discoveryError = (err as Error).message;
          backend.lastError = (err as Error).message;
          this.#logger.warn(
            { model: config.name, backend: backend.id, err: (err as Error).message },
            'discovery failed',
          );
        }
      }
      if (model.pool.backends.every((b) => b.state === 'healthy')) return;
      await sleep(delay, this.#stop.signal);
      delay = Math.min(delay * 2, 5_000);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}
