/**
 * Log lines kept in memory: `destination` is what a pino logger (or a test controller's `logDestination`) writes
 * to, and every line it wrote is in `lines`.
 */
import { Writable } from 'node:stream';

export interface CollectedLogLines {
  readonly destination: Writable;
  /** Raw JSON lines written so far. */
  readonly lines: string[];
  /** The lines so far, parsed. */
  entries(): Array<Record<string, any>>;
}

export function collectLogLines(): CollectedLogLines {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(line);
      done();
    },
  });
  return {
    destination,
    lines,
    entries: () => lines.map((l) => JSON.parse(l) as Record<string, any>),
  };
}
