/**
 * @module
 * Base62 (`0-9A-Za-z`) text for key parts: no punctuation, so a key survives copy-paste, shells and a
 * double-click selection whole.
 */
import { randomBytes } from 'node:crypto';

export const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Matches a string made only of base62 characters. */
export const BASE62_PATTERN = /^[0-9A-Za-z]*$/;

/**
 * Encodes an unsigned big-endian number as exactly `length` base62 digits (left-padded with `0`).
 * Throws if the number does not fit: callers size `length` so that it always does.
 */
export function encodeBase62(value: bigint | Uint8Array, length: number): string {
  let n = typeof value === 'bigint' ? value : bytesToBigInt(value);
  const digits: string[] = [];
  for (let i = 0; i < length; i++) {
    digits.push(BASE62_ALPHABET[Number(n % 62n)]!);
    n /= 62n;
  }
  if (n !== 0n) throw new RangeError(`value does not fit in ${length} base62 digits`);
  return digits.reverse().join('');
}

/** `length` uniformly random base62 characters (rejection sampling, so no modulo bias). */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // 248 = 4 × 62: bytes at or above it would favour the first characters.
      if (byte < 248) out += BASE62_ALPHABET[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

function bytesToBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const byte of bytes) n = (n << 8n) | BigInt(byte);
  return n;
}
