/** A pino logger whose output lands in an array, so tests can grep every line a component wrote. */
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

export interface CapturedLog {
  logger: Logger;
  /** Raw JSON lines written so far. */
  lines: string[];
  /** Parsed lines. */
  entries(): Array<Record<string, unknown>>;
}

export function captureLog(): CapturedLog {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(line);
      done();
    },
  });
  // Synchronous stream writes: every line is in `lines` as soon as the log call returns.
  const logger = pino({ level: 'trace' }, stream);
  return {
    logger,
    lines,
    entries: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
