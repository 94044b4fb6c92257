/**
 * @module
 * The API key format: `ep_<id>_<secret><checksum>`, e.g. `ep_4fK9q2LmZx7B_…` (65 characters).
 *
 * - `ep_`: a fixed prefix, so secret scanners and humans recognise our keys.
 * - id: 12 random base62 characters (~71 bits), public; it names the key in the store, logs and metrics.
 * - secret: 256 random bits as 43 base62 characters.
 * - checksum: CRC32 of everything before it, as 6 base62 characters. CRC32 detects every change confined to
 *   32 consecutive bits, hence every single-character change, so typos and garbage are rejected offline,
 *   before any lookup (the same idea as GitHub's token checksums).
 *
 * Only `hashKey(key)` (SHA-256 hex of the whole key) is stored. An unsalted fast hash is enough here: the input
 * carries 256 random bits, so there is nothing to guess from a leaked hash.
 */
import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { encodeBase62, randomBase62 } from './base62.ts';

export const KEY_PREFIX = 'ep_';
/** Characters in a key id. */
export const KEY_ID_LENGTH = 12;
/** Random bytes in a key secret (256 bits). */
export const KEY_SECRET_BYTES = 32;
/** Base62 characters that hold `KEY_SECRET_BYTES` (62^43 > 2^256). */
export const KEY_SECRET_LENGTH = 43;
const CHECKSUM_LENGTH = 6;

/** Matches a key id on its own (as given to `revoke` / `rotate`). */
export const KEY_ID_PATTERN = /^[0-9A-Za-z]{12}$/;
const KEY_PATTERN = /^ep_([0-9A-Za-z]{12})_([0-9A-Za-z]{43})([0-9A-Za-z]{6})$/;

/** Total length of a well-formed key. */
export const KEY_LENGTH =
  KEY_PREFIX.length + KEY_ID_LENGTH + 1 + KEY_SECRET_LENGTH + CHECKSUM_LENGTH;

/** A freshly generated key: show `key` once, store only `hash`. */
export interface GeneratedKey {
  /** The full key, to hand to the caller once. */
  key: string;
  /** Public key id. */
  id: string;
  /** SHA-256 hex of `key`: the only form that is stored. */
  hash: string;
}

/** Creates a new random key. */
export function generateKey(): GeneratedKey {
  const id = randomBase62(KEY_ID_LENGTH);
  const secret = encodeBase62(randomBytes(KEY_SECRET_BYTES), KEY_SECRET_LENGTH);
  const body = `${KEY_PREFIX}${id}_${secret}`;
  const key = body + checksumOf(body);
  return { key, id, hash: hashKey(key) };
}

/**
 * Checks a presented key's shape and checksum without any lookup.
 * @returns the id and secret, or `null` when the string is not a well-formed key of ours.
 */
export function parseKey(presented: string): { id: string; secret: string } | null {
  if (presented.length !== KEY_LENGTH) return null;
  const match = KEY_PATTERN.exec(presented);
  if (!match) return null;
  const [, id, secret, checksum] = match as unknown as [string, string, string, string];
  const body = presented.slice(0, presented.length - CHECKSUM_LENGTH);
  if (checksumOf(body) !== checksum) return null;
  return { id, secret };
}

/** SHA-256 of the whole key, lowercase hex: what the key store holds. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** SHA-256 of the whole key as raw bytes, for constant-time comparison. */
export function hashKeyBytes(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

function checksumOf(body: string): string {
  return encodeBase62(BigInt(crc32(body)), CHECKSUM_LENGTH);
}
