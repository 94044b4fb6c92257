/**
 * @module
 * The calibration in force. It is read from a file (`calibration.path`), which is checked again every
 * `reloadMs`, so a host can drop a new file in place without a restart: the deployment writes it after its
 * first healthy boot. A file is only used once the controller knows every model's fingerprint, and a file
 * made for other models is refused, with the reason shown at `GET /v1/calibration`. The last good calibration
 * stays in force when a later file is refused or unreadable.
 */
import { readFile, stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import { Calibration, CalibrationMismatchError } from './calibration.ts';
import { CalibrationFileError, parseCalibrationFile } from './calibration-file.ts';
import type { CalibrationFile } from './calibration-file.ts';
import type { ModelFingerprint } from './model-set.ts';

export type CalibrationState =
  /** No file configured, or the configured file does not exist yet. */
  | 'none'
  /** A file exists but some model is not discovered yet, so it cannot be checked. */
  | 'pending'
  | 'loaded'
  /** The file is damaged or made for other models. */
  | 'refused';

export interface CalibrationStatus {
  state: CalibrationState;
  /** Why the file is not in force (refused, pending, none). */
  message?: string;
}

export interface CalibrationSourceOptions {
  /** The file to read; without it, only `use()` installs a calibration. */
  readonly path?: string;
  /** How often the file is checked for a change. */
  readonly reloadMs: number;
  /** Fingerprints of the configured models, or null until every one is discovered. */
  readonly fingerprints: () => ModelFingerprint[] | null;
  readonly logger: Logger;
}

export class CalibrationSource {
  readonly path: string | undefined;
  #current: Calibration | null = null;
  #status: CalibrationStatus;
  #seen: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #options: CalibrationSourceOptions;

  constructor(options: CalibrationSourceOptions) {
    this.#options = options;
    this.path = options.path;
    this.#status = {
      state: 'none',
      message: options.path
        ? `no calibration file at ${options.path} yet`
        : 'no calibration file configured',
    };
  }

  /** The calibration in force, or null. */
  get current(): Calibration | null {
    return this.#current;
  }

  get status(): CalibrationStatus {
    return this.#status;
  }

  /** Checks the file now and then every `reloadMs`. */
  async start(): Promise<void> {
    await this.refresh();
    if (!this.path) return;
    this.#timer = setInterval(() => void this.refresh(), this.#options.reloadMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Reads the file if it changed (or could not be checked against the models before). */
  async refresh(): Promise<void> {
    if (!this.path) return;
    let version: string;
    try {
      const s = await stat(this.path);
      version = `${s.mtimeMs}:${s.size}`;
    } catch {
      if (!this.#current)
        this.#status = { state: 'none', message: `no calibration file at ${this.path} yet` };
      return;
    }
    if (version === this.#seen && this.#status.state !== 'pending') return;
    try {
      const file = parseCalibrationFile(await readFile(this.path, 'utf8'));
      if (this.use(file)) this.#seen = version;
    } catch (err) {
      this.#seen = version;
      this.#refuse((err as Error).message);
    }
  }

  /**
   * Puts a calibration in force after checking it against the models. Returns false while some model is not
   * discovered (the status says pending).
   * @throws {CalibrationMismatchError} when the file was made for other models
   */
  use(file: CalibrationFile): boolean {
    const current = this.#options.fingerprints();
    if (!current) {
      this.#status = {
        state: 'pending',
        message: 'waiting for every model to be discovered before checking the calibration file',
      };
      return false;
    }
    try {
      this.#current = Calibration.forModels(file, current);
    } catch (err) {
      if (err instanceof CalibrationMismatchError) this.#refuse(err.message);
      throw err;
    }
    this.#status = { state: 'loaded' };
    this.#options.logger.info(
      { created: file.created_at, corpus: file.corpus.name, texts: file.corpus.texts },
      'calibration in force',
    );
    return true;
  }

  #refuse(message: string): void {
    this.#status = {
      state: 'refused',
      message: this.#current ? `${message}; the previous calibration stays in force` : message,
    };
    this.#options.logger.error({ path: this.path, err: message }, 'calibration file refused');
  }
}

export { CalibrationFileError };
