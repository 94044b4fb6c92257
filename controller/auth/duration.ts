/**
 * @module
 * Parses the human durations and instants the key CLI accepts: `90s`, `15m`, `24h`, `30d`, `2w`, or an ISO 8601
 * date/time (`2027-01-31`, `2027-01-31T12:00:00Z`).
 */

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const DURATION = /^(\d+)([smhdw])$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/;

/** Milliseconds in `text` (`30d`), or `null` if it is not a duration. */
export function parseDurationMs(text: string): number | null {
  const match = DURATION.exec(text.trim());
  if (!match) return null;
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

/**
 * The instant `text` names: `now` plus a duration, or an ISO date (a bare date means midnight UTC).
 * @returns ms since the epoch, or `null` if `text` is neither.
 */
export function parseInstant(text: string, now: number): number | null {
  const duration = parseDurationMs(text);
  if (duration !== null) return now + duration;
  if (!ISO_DATE.test(text.trim())) return null;
  const ms = Date.parse(text.trim());
  return Number.isNaN(ms) ? null : ms;
}
