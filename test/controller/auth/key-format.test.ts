import { describe, expect, it } from 'vitest';
import { BASE62_ALPHABET, encodeBase62, randomBase62 } from '../../../controller/auth/base62.ts';
import {
  generateKey,
  hashKey,
  KEY_LENGTH,
  KEY_PREFIX,
  KEY_SECRET_BYTES,
  KEY_SECRET_LENGTH,
  parseKey,
} from '../../../controller/auth/key-format.ts';

describe('key format', () => {
  it('round-trips: a generated key parses back to its id and secret', () => {
    for (let i = 0; i < 200; i++) {
      const { key, id, hash } = generateKey();
      expect(key.startsWith(KEY_PREFIX)).toBe(true);
      expect(key).toHaveLength(KEY_LENGTH);
      expect(key).toMatch(/^ep_[0-9A-Za-z]{12}_[0-9A-Za-z]{49}$/);
      const parsed = parseKey(key);
      expect(parsed).not.toBeNull();
      expect(parsed!.id).toBe(id);
      expect(key).toContain(parsed!.secret);
      expect(hash).toBe(hashKey(key));
      expect(hash).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it('carries a secret of at least 128 bits (256 by design)', () => {
    expect(KEY_SECRET_BYTES * 8).toBeGreaterThanOrEqual(256);
    // The base62 field can hold every 256-bit value, so no entropy is lost in the encoding.
    expect(KEY_SECRET_LENGTH * Math.log2(62)).toBeGreaterThanOrEqual(256);
    expect(() => encodeBase62(new Uint8Array(32).fill(0xff), KEY_SECRET_LENGTH)).not.toThrow();
    const secrets = new Set(
      Array.from({ length: 1000 }, () => parseKey(generateKey().key)!.secret),
    );
    expect(secrets.size).toBe(1000);
  });

  it('rejects every single-character change by its checksum', () => {
    const { key } = generateKey();
    let variants = 0;
    // Every position after the prefix and separator, every other base62 character.
    for (let pos = 0; pos < key.length; pos++) {
      if (pos < KEY_PREFIX.length || key[pos] === '_') continue;
      for (const ch of BASE62_ALPHABET) {
        if (ch === key[pos]) continue;
        const changed = key.slice(0, pos) + ch + key.slice(pos + 1);
        expect(parseKey(changed), `changed position ${pos} to ${ch}`).toBeNull();
        variants++;
      }
    }
    expect(variants).toBe((KEY_LENGTH - 4) * 61);
  });

  it('rejects garbage, wrong prefixes, lengths and whitespace without throwing', () => {
    const { key } = generateKey();
    for (const bad of [
      '',
      'ep_',
      key.slice(0, -1),
      `${key}x`,
      ` ${key}`,
      `${key}\n`,
      key.replace('ep_', 'sk_'),
      key.replace('ep_', 'EP_'),
      key.toUpperCase(),
      'x'.repeat(KEY_LENGTH),
      '\u0000'.repeat(KEY_LENGTH),
      'é'.repeat(KEY_LENGTH),
    ]) {
      expect(parseKey(bad)).toBeNull();
    }
  });

  it('produces ids with no modulo bias in their characters (rough check)', () => {
    const counts = new Map<string, number>();
    const text = randomBase62(62_000);
    for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    expect(counts.size).toBe(62);
    // Expected 1000 each; a biased generator would put the first characters near 1250.
    for (const n of counts.values()) expect(n).toBeLessThan(1200);
  });
});
