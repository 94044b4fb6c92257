/**
 * @module
 * The slice of a pino logger that auth code uses. Pass the controller's pino instance (or a child); nothing
 * here creates a global logger. Log the key id, never the key.
 */
import type { Logger } from 'pino';

export type AuthLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

const noop = (): void => undefined;

/** A logger that drops everything: the default when none is given. */
export const SILENT_LOGGER: AuthLogger = { debug: noop, info: noop, warn: noop, error: noop };
