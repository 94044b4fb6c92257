/**
 * @module
 * The rehearsal's phases: each is timed and recorded; the first failure stops the run and is reported with the
 * emulator's or Terraform's own message. The table printed at the end is the rehearsal's result.
 */

export interface PhaseRecord {
  readonly phase: string;
  readonly seconds: number;
  readonly result: 'ok' | 'FAILED';
  readonly detail: string;
}

/** A phase failed: `phase` is its name, the message says why. */
export class PhaseError extends Error {
  override readonly name = 'PhaseError';
  /** The phase table up to and including the failed phase. */
  table?: string;
  constructor(
    readonly phase: string,
    override readonly cause: unknown,
  ) {
    super(`${phase}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

export class PhaseLog {
  readonly records: PhaseRecord[] = [];
  constructor(private readonly say: (line: string) => void) {}

  /** Runs one phase; its returned string (if any) is the table's detail column. */
  async run<T>(phase: string, fn: () => Promise<T>, detail?: (value: T) => string): Promise<T> {
    const started = performance.now();
    this.say(`== ${phase}`);
    try {
      const value = await fn();
      const seconds = (performance.now() - started) / 1000;
      this.records.push({ phase, seconds, result: 'ok', detail: detail ? detail(value) : '' });
      return value;
    } catch (err) {
      const seconds = (performance.now() - started) / 1000;
      this.records.push({ phase, seconds, result: 'FAILED', detail: firstLine(err) });
      throw err instanceof PhaseError ? err : new PhaseError(phase, err);
    }
  }

  /** The phase table. */
  table(): string {
    const rows = this.records.map((r) => [r.phase, r.seconds.toFixed(1), r.result, r.detail]);
    const head = ['phase', 'seconds', 'result', 'detail'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) =>
      cells
        .map((c, i) => (i === 1 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd();
    return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
  }

  totalSeconds(): number {
    return this.records.reduce((s, r) => s + r.seconds, 0);
  }
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return (msg.split('\n').find((l) => l.trim() && !/failed:$/.test(l)) ?? msg).trim().slice(0, 160);
}
