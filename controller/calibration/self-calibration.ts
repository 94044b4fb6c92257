/**
 * @module
 * A controller that makes its own calibration (`calibration.makeIfMissing`): once every configured model is ready
 * and the file is missing, or no calibration is in force (the file was refused: made for other models, or
 * damaged), it
 * scores the fit split of the reference corpus through its own schedulers, in-process, writes the file to
 * `calibration.path` (beside, then renamed, so no reader sees half a file) and has the calibration source load it.
 *
 * It runs in the background, one attempt at a time, as its own tenant of the model queues: the queues serve
 * tenants in turns, so user requests keep their share, and it keeps one batch in flight. It never stores in the
 * result cache. A failed attempt is logged and retried after a growing pause, a bounded number of times.
 *
 * A refused file that arrives while a good calibration is loaded (the source keeps the good one) does not start an
 * attempt, so hosts with different model sets that share one stored file cannot keep replacing each other's. A
 * deleted file does, even with a calibration in force: deleting it is how an operator asks for a fresh one.
 */
import { access, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { scoreEnsemble } from '../ensemble/ensemble-scorer.ts';
import type { ModelRegistry } from '../models/model-registry.ts';
import type { ModelScheduler } from '../scheduler/model-scheduler.ts';
import type { CalibrationSource } from './calibration-source.ts';
import { answeredModels } from './answered-models.ts';
import { makeCalibration } from './make-calibration.ts';
import type { ScoreBatch, ScoredText } from './make-calibration.ts';
import type { ModelFingerprint } from './model-set.ts';

/** The tenant the calibration's texts are queued under (API key ids never contain a colon). */
export const CALIBRATION_TENANT = 'ep:calibration';

export interface SelfCalibrationStatus {
  /** `making`: scoring the corpus now; `waiting`: the last attempt failed, another follows; `gave_up`: no more. */
  readonly state: 'idle' | 'making' | 'waiting' | 'gave_up';
  /** Reference texts scored so far by the current attempt, of `textsTotal`. */
  readonly textsDone?: number;
  readonly textsTotal?: number;
  /** Attempts started since the controller started. */
  readonly attempts: number;
  readonly lastError?: string;
  /** When the next attempt may start (ISO 8601), while `waiting`. */
  readonly nextAttemptAt?: string;
}

export interface SelfCalibrationOptions {
  /** Where the file is written (`calibration.path`). */
  readonly path: string;
  readonly source: CalibrationSource;
  readonly registry: Pick<ModelRegistry, 'names' | 'scheduler' | 'readyModels' | 'fingerprints'>;
  readonly logger: Logger;
  /** @default every fit text */
  readonly maxTexts?: number;
  /** How often it checks whether a file is needed. @default 5000 */
  readonly checkMs?: number;
  /** Pause after the first failed attempt; doubled after each further one. @default 60000 */
  readonly retryMs?: number;
  /** Attempts before it gives up until the next start. @default 5 */
  readonly maxAttempts?: number;
  /** Texts per batch handed to the schedulers. @default 16 */
  readonly batch?: number;
  /** Tries of one batch before the attempt fails (a backend reset, a full queue). @default 4 */
  readonly batchTries?: number;
}

export class SelfCalibration {
  readonly #o: SelfCalibrationOptions;
  #status: SelfCalibrationStatus = { state: 'idle', attempts: 0 };
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #notBefore = 0;
  readonly #stop = new AbortController();

  constructor(options: SelfCalibrationOptions) {
    this.#o = options;
  }

  get status(): SelfCalibrationStatus {
    return this.#status;
  }

  /** Checks now and then every `checkMs`. */
  start(): void {
    this.check();
    this.#timer = setInterval(() => this.check(), this.#o.checkMs ?? 5_000);
    this.#timer.unref();
  }

  /** Stops checking and abandons an attempt in flight (its partial file is removed). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#stop.abort(new Error('the controller is shutting down'));
    await this.#running;
  }

  /**
   * Starts an attempt when one is due (every model ready, no calibration in force, none running, not given up).
   * @returns the attempt (resolves when it ends, never rejects), or undefined when none was started
   */
  check(): Promise<void> | undefined {
    if (this.#running || this.#stop.signal.aborted) return undefined;
    const s = this.#status.state;
    if (s === 'gave_up' || (s === 'waiting' && Date.now() < this.#notBefore)) return undefined;
    this.#running = this.#attemptIfNeeded()
      .catch((err: unknown) =>
        this.#o.logger.error({ err }, 'could not check whether a calibration is needed'),
      )
      .finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #attemptIfNeeded(): Promise<void> {
    const { source, registry } = this.#o;
    await source.refresh();
    const missing = !(await exists(this.#o.path));
    const state = source.status.state;
    if (!missing && (source.current || (state !== 'none' && state !== 'refused'))) return;
    const models = registry.fingerprints();
    const schedulers = registry.names.map((name) => registry.scheduler(name));
    if (!models || registry.readyModels().length < registry.names.length) return;
    await this.#attempt(models, schedulers as ModelScheduler[]);
  }

  async #attempt(
    models: (ModelFingerprint & { weight: number })[],
    schedulers: ModelScheduler[],
  ): Promise<void> {
    const { logger, path } = this.#o;
    const attempts = this.#status.attempts + 1;
    const started = performance.now();
    let lastLog = 0;
    this.#status = { state: 'making', attempts, textsDone: 0 };
    logger.info(
      {
        path,
        models: models.map((m) => m.name),
        attempt: attempts,
        reason: this.#o.source.status.message,
      },
      'making a calibration from the reference corpus',
    );
    try {
      const { file } = await makeCalibration({
        models,
        scoreBatch: this.#scoreBatch(models, schedulers),
        batch: this.#o.batch ?? 16,
        // One batch in flight: the model queues serve the calibration as one more tenant taking turns.
        concurrency: 1,
        signal: this.#stop.signal,
        ...(this.#o.maxTexts !== undefined ? { maxTexts: this.#o.maxTexts } : {}),
        onProgress: (done, total) => {
          this.#status = { state: 'making', attempts, textsDone: done, textsTotal: total };
          if (done === total || performance.now() - lastLog > 30_000) {
            lastLog = performance.now();
            logger.info({ done, total }, 'calibration: reference texts scored');
          }
        },
      });
      this.#stop.signal.throwIfAborted();
      await writeAtomically(path, JSON.stringify(file));
      await this.#o.source.refresh();
      if (!this.#o.source.current) {
        throw new Error(
          `the calibration just made was not put in force: ${this.#o.source.status.message ?? this.#o.source.status.state}`,
        );
      }
      this.#status = { state: 'idle', attempts };
      logger.info(
        {
          path,
          texts: file.corpus.texts,
          seconds: Math.round((performance.now() - started) / 1000),
        },
        'calibration made and in force',
      );
    } catch (err) {
      if (this.#stop.signal.aborted) {
        this.#status = { state: 'idle', attempts };
        return;
      }
      const message = err instanceof Error ? err.message : String(err);
      const max = this.#o.maxAttempts ?? 5;
      if (attempts >= max) {
        this.#status = { state: 'gave_up', attempts, lastError: message };
        logger.error(
          { err: message, attempts },
          'could not make a calibration; giving up until the controller restarts (npm run calibrate makes one from outside)',
        );
        return;
      }
      const pauseMs = (this.#o.retryMs ?? 60_000) * 2 ** (attempts - 1);
      this.#notBefore = Date.now() + pauseMs;
      this.#status = {
        state: 'waiting',
        attempts,
        lastError: message,
        nextAttemptAt: new Date(this.#notBefore).toISOString(),
      };
      logger.error(
        { err: message, attempts, retryInMs: pauseMs },
        'could not make a calibration; trying again later',
      );
    }
  }

  /** Scores a batch through the controller's own schedulers (every model must answer each text). */
  #scoreBatch(
    models: readonly (ModelFingerprint & { weight: number })[],
    schedulers: readonly ModelScheduler[],
  ): ScoreBatch {
    const weights = new Map(models.map((m) => [m.name, m.weight]));
    const signal = this.#stop.signal;
    const tries = this.#o.batchTries ?? 4;
    return async (texts) => {
      for (let i = 1; ; i++) {
        try {
          const scored = texts.map((text): ScoredText => ({ text, models: [] }));
          await scoreEnsemble({
            texts,
            models: schedulers,
            weights,
            minModels: schedulers.length,
            withDetail: true,
            // The tokens are read here; the results themselves are not kept.
            finishText: (result, text, runs) => {
              scored[result.index] = { text, models: answeredModels(result, runs, weights) };
            },
            store: false,
            signal,
            tenant: CALIBRATION_TENANT,
          });
          return scored;
        } catch (err) {
          if (signal.aborted || i >= tries) throw err;
          // A backend restart or a full queue (user traffic first): wait and try the batch again.
          await sleep(1_000 * 2 ** i, undefined, { signal, ref: false });
        }
      }
    };
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Written beside and renamed: the calibration source (or a host's sync) never reads half a file. */
async function writeAtomically(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const partial = `${path}.partial`;
  try {
    await writeFile(partial, content);
    await rename(partial, path);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
}
