/**
 * @module
 * What a key store holds: `{ "version": 1, "keys": [KeyRecord, …] }`. The infrastructure creates the
 * Secrets Manager secret with `{"version":1,"keys":[]}`, so this shape is a contract with infra/.
 * A record never holds the key itself, only its SHA-256 hash. Objects are loose (unknown fields are kept) so
 * that a newer CLI's additions neither break an older controller nor get dropped when an older CLI saves.
 */
import { z } from 'zod';

const isoDate = z.iso.datetime({ offset: true });

/** Per-key overrides of the configured defaults (`auth.requestsPerMinute`, `auth.tokensPerMinute`). */
export const KeyLimitsSchema = z.looseObject({
  requestsPerMinute: z.int().positive().optional(),
  tokensPerMinute: z.int().positive().optional(),
});
export type KeyLimits = z.infer<typeof KeyLimitsSchema>;

export const KeyRecordSchema = z.looseObject({
  /** Public key id (the `<id>` part of `ep_<id>_…`). */
  id: z.string().regex(/^[0-9A-Za-z]{12}$/, 'key ids are 12 base62 characters'),
  /** Operator-chosen label, e.g. the customer or service using the key. */
  name: z.string().min(1).max(200),
  /** SHA-256 of the whole key, lowercase hex. */
  hash: z.string().regex(/^[0-9a-f]{64}$/, 'hash must be 64 lowercase hex digits'),
  createdAt: isoDate,
  /** The key stops working at this instant. */
  expiresAt: isoDate.optional(),
  /** Set by `revoke`: the key stops working (within one reload period). */
  revokedAt: isoDate.optional(),
  /** Set by `rotate` on the old key: it keeps working until this instant, then is treated as expired. */
  graceUntil: isoDate.optional(),
  /** Set by `rotate` on the old key: id of the key that replaces it. */
  replacedBy: z.string().optional(),
  limits: KeyLimitsSchema.optional(),
});
export type KeyRecord = z.infer<typeof KeyRecordSchema>;

export const KeyStoreDocumentSchema = z
  .looseObject({
    version: z.literal(1),
    keys: z.array(KeyRecordSchema),
  })
  .refine((doc) => new Set(doc.keys.map((k) => k.id)).size === doc.keys.length, {
    message: 'key ids must be unique',
    path: ['keys'],
  });
export type KeyStoreDocument = z.infer<typeof KeyStoreDocumentSchema>;

/** The document of a store that has no keys yet. */
export function emptyKeyStoreDocument(): KeyStoreDocument {
  return { version: 1, keys: [] };
}

/** Why a key does or does not work at a given instant. */
export type KeyStatus = 'active' | 'rotating' | 'revoked' | 'expired';

/**
 * Status of a record at `now` (ms since the epoch). Revocation wins over expiry; a rotated key is `rotating`
 * until its grace period ends, then `expired`.
 */
export function keyStatus(record: KeyRecord, now: number): KeyStatus {
  if (record.revokedAt !== undefined) return 'revoked';
  if (record.expiresAt !== undefined && Date.parse(record.expiresAt) <= now) return 'expired';
  if (record.graceUntil !== undefined) {
    return Date.parse(record.graceUntil) <= now ? 'expired' : 'rotating';
  }
  return 'active';
}

/** Human-readable list of zod issues, one per line, each naming its field. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n');
}
