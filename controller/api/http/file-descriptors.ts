/**
 * @module
 * The process's open-file limit, and how many client connections fit under it once the controller's own needs
 * (backend sockets, probes, logs, key store reads) are set aside. Every socket is a file descriptor, so a
 * connection flood that reaches the limit makes the controller's outbound calls fail with EMFILE.
 */
import { readFileSync } from 'node:fs';

/**
 * The soft `RLIMIT_NOFILE` of this process (what `ulimit -n` prints), from `/proc/self/limits` (Linux).
 * @returns undefined where that file does not exist or says "unlimited".
 */
export function openFileLimit(limitsFile = '/proc/self/limits'): number | undefined {
  let text: string;
  try {
    text = readFileSync(limitsFile, 'utf8');
  } catch {
    return undefined;
  }
  const line = text.split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
  const value = soft === undefined ? NaN : Number(soft);
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

export interface ConnectionBudget {
  /** Client connections the server accepts at once. */
  readonly maxConnections: number;
  /** The open-file limit it was derived from, when known. */
  readonly openFileLimit: number | undefined;
}

/**
 * Connections left once `reserved` descriptors are kept free; `configured` can only lower it. Under a small limit
 * (a shell's 1,024) the reserve shrinks to half of it, so the server still takes connections.
 */
export function connectionBudget(options: {
  configured: number | undefined;
  reserved: number;
  openFileLimit: number | undefined;
}): ConnectionBudget {
  const { configured, openFileLimit: limit } = options;
  // With an unknown limit, assume a typical 65,536 (the soft limit systemd and Docker commonly give services).
  const known = limit ?? 65_536;
  const reserved = Math.min(options.reserved, Math.floor(known / 2));
  const underLimit = Math.max(1, known - reserved);
  return {
    maxConnections: Math.min(configured ?? underLimit, underLimit),
    openFileLimit: limit,
  };
}
