/**
 * @module
 * The public reason of a text the backend failed on alone: the backend's own words, minus anything that could be
 * the user's text (engines quote the input that tripped them, and these messages reach clients and logs).
 */
import type { BackendError } from '../backends/errors.ts';

/** Quoted segments: engines put the offending input in quotes. */
const QUOTED = /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g;
const MAX_REASON_CHARS = 200;

export function rejectedTextMessage(err: BackendError, prompt: string | readonly number[]): string {
  const what =
    err.status !== undefined
      ? `answered ${err.status}`
      : err.code === 'BACKEND_BAD_RESPONSE'
        ? 'gave a malformed answer'
        : 'failed';
  // "/v1/completions answered 500: <engine message>": keep the engine's message.
  let reason = err.message.replace(/^\S+ answered \d+: /, '').replace(QUOTED, '"…"');
  if (typeof prompt === 'string') {
    // Any word that also occurs in the text may be a fragment of it.
    reason = reason
      .split(/(\s+)/)
      .map((w) => (w.trim().length >= 3 && prompt.includes(w) ? '…' : w))
      .join('');
  }
  if (reason.length > MAX_REASON_CHARS) reason = `${reason.slice(0, MAX_REASON_CHARS)}…`;
  return `the model's backend ${what} on this text alone while scoring others: ${reason}`;
}
