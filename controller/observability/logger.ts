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

export function createLogger(level: LevelWithSilent, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'ensembled-perplexity' },
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}
