import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { generateKey } from '../../../controller/auth/key-format.ts';
import { KeyRing } from '../../../controller/auth/key-ring.ts';
import { openKeyStore } from '../../../controller/auth/stores/open-key-store.ts';
import { createKey, keysCli } from '../../scripts/keys-helpers.ts';
import { captureLog } from './capture-log.ts';
import { forgeKeyWithId } from './forge-key.ts';

const HOUR = 3_600_000;

describe('key ring', () => {
  let dir: string;
  let spec: string;
  const rings: KeyRing[] = [];
  const ringFor = (
    reloadMs: number,
    extra: Partial<ConstructorParameters<typeof KeyRing>[0]> = {},
  ) => {
    const ring = new KeyRing({ store: openKeyStore(spec), reloadMs, ...extra });
    rings.push(ring);
    return ring;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ep-key-ring-'));
    spec = `file:${join(dir, 'keys.json')}`;
  });
  afterEach(async () => {
    for (const ring of rings.splice(0)) ring.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts a created key and reports its id, name and limits', async () => {
    const created = await createKey(spec, 'alice', ['--rpm', '7']);
    const ring = ringFor(60_000);
    expect(await ring.start()).toBe(true);
    expect(ring.verify(created.key)).toEqual({
      ok: true,
      keyId: created.id,
      name: 'alice',
      limits: { requestsPerMinute: 7 },
    });
  });

  it('refuses malformed, unknown and wrong-secret keys', async () => {
    const created = await createKey(spec, 'alice');
    const ring = ringFor(60_000);
    await ring.start();
    expect(ring.verify('Bearer nonsense')).toEqual({ ok: false, reason: 'malformed' });
    const stranger = generateKey();
    expect(ring.verify(stranger.key)).toEqual({ ok: false, reason: 'unknown', keyId: stranger.id });
    // Same id, different secret, valid checksum: found by id, refused by the hash comparison.
    const forged = forgeKeyWithId(created.id);
    expect(ring.verify(forged)).toEqual({ ok: false, reason: 'unknown', keyId: created.id });
  });

  it('stops accepting a key revoked with the CLI within one reload period', async () => {
    const created = await createKey(spec, 'alice');
    const reloadMs = 50;
    const log = captureLog();
    const ring = ringFor(reloadMs, { logger: log.logger });
    await ring.start();
    expect(ring.verify(created.key).ok).toBe(true);
    const revoked = await keysCli(['revoke', created.id, '--store', spec]);
    expect(revoked.code).toBe(0);
    const t0 = performance.now();
    await vi.waitFor(() => expect(ring.verify(created.key)).toMatchObject({ reason: 'revoked' }), {
      timeout: 5_000,
      interval: 5,
    });
    const elapsed = performance.now() - t0;
    expect(log.entries().at(-1)).toMatchObject({ msg: 'key set reloaded', changed: 1, added: 0 });
    // One period plus the reload's own file read; generous bound for busy machines.
    expect(elapsed).toBeLessThan(reloadMs * 10);
  });

  it('refuses an expired key', async () => {
    const created = await createKey(spec, 'alice', ['--expires', '1h']);
    const ring = ringFor(60_000);
    await ring.start();
    const now = Date.now();
    expect(ring.verify(created.key, now).ok).toBe(true);
    expect(ring.verify(created.key, now + HOUR + 1_000)).toMatchObject({
      ok: false,
      reason: 'expired',
    });
  });

  it('keeps a rotated key working until its grace period ends, and not after', async () => {
    const t0 = Date.parse('2026-11-28T00:00:00Z');
    const created = await createKey(spec, 'alice', [], { now: () => t0 });
    const rotated = await keysCli(
      ['rotate', created.id, '--grace', '24h', '--store', spec, '--json'],
      {
        now: () => t0 + HOUR,
      },
    );
    expect(rotated.code).toBe(0);
    const replacement = JSON.parse(rotated.out) as { key: string; id: string };
    const ring = ringFor(60_000);
    await ring.start();
    const graceEnd = t0 + HOUR + 24 * HOUR;
    expect(ring.verify(created.key, graceEnd - 1).ok).toBe(true);
    expect(ring.verify(created.key, graceEnd)).toMatchObject({ ok: false, reason: 'expired' });
    expect(ring.verify(replacement.key, graceEnd)).toMatchObject({ ok: true, name: 'alice' });
  });

  it('boots not ready when the first load fails, retries, and becomes ready once the store appears', async () => {
    const log = captureLog();
    const ring = ringFor(60_000, { retryMs: 20, logger: log.logger });
    expect(await ring.start()).toBe(false);
    expect(ring.ready).toBe(false);
    expect(ring.status()).toMatchObject({ ready: false, keys: 0, consecutiveFailures: 1 });
    expect(log.entries()[0]).toMatchObject({ level: 40, code: 'EP_KEYSTORE_NOT_FOUND' });
    const created = await createKey(spec, 'late');
    await vi.waitFor(() => expect(ring.ready).toBe(true), { timeout: 5_000, interval: 5 });
    expect(ring.verify(created.key).ok).toBe(true);
  });

  it('keeps the last good set when the file turns invalid', async () => {
    const created = await createKey(spec, 'alice');
    const ring = ringFor(60_000);
    await ring.start();
    await writeFile(join(dir, 'keys.json'), '{"version":1,"keys":[{"id":"garbage"}]}');
    expect(await ring.reload()).toBe(false);
    expect(ring.verify(created.key).ok).toBe(true);
    expect(ring.status().lastError).toMatch(/not a valid key store document/);
  });

  it('validates its options when constructed', () => {
    const store = openKeyStore(spec);
    expect(() => new KeyRing({ store, reloadMs: 0 })).toThrow(/reloadMs must be a positive/);
    expect(() => new KeyRing({ store, retryMs: -1 })).toThrow(/retryMs must be a positive/);
  });
});
