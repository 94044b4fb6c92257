/** Builds well-formed keys (valid checksum) for a chosen id: what an attacker who knows an id could send. */
import { crc32 } from 'node:zlib';
import { encodeBase62 } from '../../../controller/auth/base62.ts';
import { generateKey, parseKey } from '../../../controller/auth/key-format.ts';

/** A key with `id` and a fresh random secret; it parses, but matches no stored hash. */
export function forgeKeyWithId(id: string): string {
  const secret = parseKey(generateKey().key)!.secret;
  const body = `ep_${id}_${secret}`;
  const key = body + encodeBase62(BigInt(crc32(body)), 6);
  if (!parseKey(key)) throw new Error('forged key does not parse: the key format changed');
  return key;
}
