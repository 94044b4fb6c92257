/**
 * @module
 * Token bucket arithmetic shared by the per-key limiter and the failed-authentication throttle. A bucket holds
 * up to `capacity` units and refills continuously at `capacity` per `periodMs`, so a client may burst a whole
 * period's allowance and then proceeds at the average rate. The level may go negative (debt) when usage is
 * charged after the fact, as scored tokens are.
 */

export interface Bucket {
  level: number;
  updatedAt: number;
}

/** A full bucket at `now`. */
export function fullBucket(capacity: number, now: number): Bucket {
  return { level: capacity, updatedAt: now };
}

/** Adds what accrued since the last update, capped at `capacity`. A clock going backwards adds nothing. */
export function refill(bucket: Bucket, capacity: number, periodMs: number, now: number): void {
  const elapsed = Math.max(0, now - bucket.updatedAt);
  bucket.level = Math.min(capacity, bucket.level + (elapsed * capacity) / periodMs);
  bucket.updatedAt = Math.max(bucket.updatedAt, now);
}

/** Whole seconds until the bucket holds `needed` units (at least 1: a `Retry-After` of 0 invites a retry storm). */
export function secondsUntil(
  bucket: Bucket,
  needed: number,
  capacity: number,
  periodMs: number,
): number {
  const missing = needed - bucket.level;
  if (missing <= 0) return 0;
  return Math.max(1, Math.ceil((missing * periodMs) / capacity / 1000));
}
