/**
 * @module
 * JSON logs (pino). Callers log ids, counts and timings; never a text or a key. The `redact` list is a second
 * line of defence for fields that must not leave the process even if someone logs a whole object.
 */
import { pino } from 'pino';
import type { DestinationStream, Logger, LevelWithSilent } from 'pino';

export type { Logger };

const REDACT = [
  'texts',
  'prompts',
  'text',
  'prompt',
  'key',
  'apiKey',
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
];

/**
 * @param destination where lines go. @default - stdout, written asynchronously: a log line never waits for the
 *   pipe, and lines that pile up while a write is in flight leave together. pino flushes what is left when the
 *   process exits.
 */
export function createLogger(level: LevelWithSilent, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'ensembled-perplexity' },
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (destination) return pino(options, destination);
  return level === 'silent'
    ? pino(options)
    : pino(options, pino.destination({ dest: 1, sync: false }));
}
