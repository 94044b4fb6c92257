/**
 * @module
 * Progress of a long scoring run on stderr: a redrawn bar with rate and ETA on a terminal, a plain line every
 * few seconds otherwise (CI logs, `2> file`), so the output stays readable either way.
 */

export interface ProgressOptions {
  /** Lines the run will have processed when done (including lines skipped by a resume). */
  readonly total: number;
  /** Lines already done before this run started (resume). @default 0 */
  readonly initial?: number;
  /** Where to draw. @default process.stderr */
  readonly stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Seconds between plain lines when the stream is not a terminal. @default 10 */
  readonly plainEverySeconds?: number;
  /** Clock in ms. @default performance.now */
  readonly now?: () => number;
}

/** Redraws on a terminal at most this often. */
const TTY_REDRAW_MS = 100;
const BAR_WIDTH = 28;

export class Progress {
  readonly #total: number;
  readonly #initial: number;
  readonly #stream: NonNullable<ProgressOptions['stream']>;
  readonly #tty: boolean;
  readonly #plainEveryMs: number;
  readonly #now: () => number;
  readonly #start: number;
  #done: number;
  #lastDraw = -Infinity;

  constructor(options: ProgressOptions) {
    this.#total = options.total;
    this.#initial = options.initial ?? 0;
    this.#done = this.#initial;
    this.#stream = options.stream ?? process.stderr;
    this.#tty = Boolean(this.#stream.isTTY);
    this.#plainEveryMs = (options.plainEverySeconds ?? 10) * 1000;
    this.#now = options.now ?? (() => performance.now());
    this.#start = this.#now();
  }

  /** Records that `done` lines (in all) are finished; draws when it is time. */
  update(done: number): void {
    // The first finished line shows at once, so a slow start is visibly alive.
    const first = this.#done === this.#initial && done > this.#initial;
    this.#done = done;
    const now = this.#now();
    if (!first && now - this.#lastDraw < (this.#tty ? TTY_REDRAW_MS : this.#plainEveryMs)) return;
    this.#lastDraw = now;
    this.#draw(false);
  }

  /** Draws the final state and ends the line. */
  finish(note = ''): void {
    this.#draw(true, note);
  }

  /** Lines per second over this run (resumed lines excluded). */
  get rate(): number {
    const seconds = (this.#now() - this.#start) / 1000;
    return seconds > 0 ? (this.#done - this.#initial) / seconds : 0;
  }

  #draw(final: boolean, note = ''): void {
    const rate = this.rate;
    const left = this.#total - this.#done;
    const eta = rate > 0 ? left / rate : Infinity;
    const share = this.#total > 0 ? this.#done / this.#total : 1;
    const stats = `${this.#done}/${this.#total} lines  ${rate.toFixed(0)} lines/s  ${final ? `${formatSeconds((this.#now() - this.#start) / 1000)} elapsed` : `ETA ${formatSeconds(eta)}`}${note ? `  ${note}` : ''}`;
    if (this.#tty) {
      const filled = Math.round(share * BAR_WIDTH);
      const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${(share * 100).toFixed(1).padStart(5)}%`;
      this.#stream.write(`\r\x1b[2K${bar}  ${stats}${final ? '\n' : ''}`);
    } else {
      this.#stream.write(`score: ${(share * 100).toFixed(1)}%  ${stats}\n`);
    }
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '--';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
