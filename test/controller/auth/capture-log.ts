/** A pino logger whose output lands in an array, so tests can grep every line a component wrote. */
import { pino, type Logger } from 'pino';
import { collectLogLines } from '../../helpers/log-lines.ts';

export interface CapturedLog {
  logger: Logger;
  /** Raw JSON lines written so far. */
  lines: string[];
  /** Parsed lines. */
  entries(): Array<Record<string, unknown>>;
}

export function captureLog(): CapturedLog {
  const { destination, lines, entries } = collectLogLines();
  // Synchronous stream writes: every line is in `lines` as soon as the log call returns.
  const logger = pino({ level: 'trace' }, destination);
  return { logger, lines, entries };
}
