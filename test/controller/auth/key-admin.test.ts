import { describe, expect, it } from 'vitest';
import { KeyAdmin, KeyAdminError } from '../../../controller/auth/key-admin.ts';
import { generateKey, hashKey } from '../../../controller/auth/key-format.ts';
import { KeyRing } from '../../../controller/auth/key-ring.ts';
import { keyStatus } from '../../../controller/auth/key-record.ts';
import { memoryStore } from './memory-store.ts';

const T0 = Date.parse('2026-12-01T00:00:00Z');
const HOUR = 3_600_000;

function setup() {
  const store = memoryStore();
  const clock = { t: T0 };
  return { store, clock, admin: new KeyAdmin(store, { clock: () => clock.t }) };
}

describe('KeyAdmin', () => {
  it('creates a key that the key ring accepts, storing only its hash', async () => {
    const { store, admin } = setup();
    const { key, record } = await admin.create({
      name: 'acme',
      expiresAt: T0 + 24 * HOUR,
      limits: { requestsPerMinute: 5 },
    });
    expect(record).toMatchObject({
      name: 'acme',
      hash: hashKey(key),
      limits: { requestsPerMinute: 5 },
    });
    expect(JSON.stringify(store.doc)).not.toContain(key);
    const ring = new KeyRing({ store, reloadMs: 60_000 });
    await ring.start();
    expect(ring.verify(key, T0 + HOUR)).toMatchObject({ ok: true, keyId: record.id });
    expect(ring.verify(key, T0 + 25 * HOUR)).toMatchObject({ ok: false, reason: 'expired' });
    ring.stop();
  });

  it('rotation carries the lifetime over: a 90-day key is replaced by a 90-day key, unless told otherwise', async () => {
    const { clock, admin } = setup();
    const DAY = 24 * HOUR;
    const first = await admin.create({ name: 'acme', expiresAt: T0 + 90 * DAY });
    clock.t = T0 + 30 * DAY;
    const next = await admin.rotate(first.record.id, { graceMs: HOUR });
    expect(next.record.expiresAt).toBe(new Date(T0 + 120 * DAY).toISOString());
    const never = await admin.create({ name: 'forever' });
    expect(
      (await admin.rotate(never.record.id, { graceMs: HOUR })).record.expiresAt,
    ).toBeUndefined();
    const chosen = await admin.rotate(next.record.id, { graceMs: HOUR, expiresAt: T0 + 31 * DAY });
    expect(chosen.record.expiresAt).toBe(new Date(T0 + 31 * DAY).toISOString());
  });

  it('refuses an expiry in the past', async () => {
    const { store, admin } = setup();
    await expect(admin.create({ name: 'x', expiresAt: T0 - 1 })).rejects.toMatchObject({
      code: 'INVALID_EXPIRY',
    });
    expect(store.doc.keys).toHaveLength(0);
  });

  it('rotates: the old key works until graceUntil and names its successor; it cannot rotate twice', async () => {
    const { store, clock, admin } = setup();
    const first = await admin.create({ name: 'acme', limits: { tokensPerMinute: 9 } });
    const next = await admin.rotate(first.record.id, { graceMs: 2 * HOUR });
    expect(next.record).toMatchObject({ name: 'acme', limits: { tokensPerMinute: 9 } });
    expect(next.graceUntil).toBe(new Date(T0 + 2 * HOUR).toISOString());
    const old = store.doc.keys.find((k) => k.id === first.record.id)!;
    expect(old).toMatchObject({ graceUntil: next.graceUntil, replacedBy: next.record.id });
    expect(keyStatus(old, T0 + HOUR)).toBe('rotating');
    expect(keyStatus(old, T0 + 3 * HOUR)).toBe('expired');
    clock.t = T0 + HOUR;
    const again = admin.rotate(first.record.id, { graceMs: HOUR });
    await expect(again).rejects.toBeInstanceOf(KeyAdminError);
    await expect(again).rejects.toMatchObject({ code: 'KEY_NOT_ACTIVE' });
    await expect(admin.rotate('AAAAAAAAAAAA', { graceMs: HOUR })).rejects.toMatchObject({
      code: 'KEY_NOT_FOUND',
    });
  });

  it('revokes once and reports a second revocation without changing it', async () => {
    const { store, clock, admin } = setup();
    const { record } = await admin.create({ name: 'acme' });
    const first = await admin.revoke(record.id);
    expect(first).toMatchObject({
      alreadyRevoked: false,
      record: { revokedAt: new Date(T0).toISOString() },
    });
    clock.t += HOUR;
    const second = await admin.revoke(record.id);
    expect(second).toMatchObject({
      alreadyRevoked: true,
      record: { revokedAt: new Date(T0).toISOString() },
    });
    expect(keyStatus(store.doc.keys[0]!, clock.t)).toBe('revoked');
  });

  it('provisions one key per name, adopting a preset key, and refuses a malformed one', async () => {
    const { store, admin } = setup();
    await admin.create({ name: 'other' });
    const a = await admin.provision('dev');
    const preset = generateKey();
    const b = await admin.provision('dev', preset.key);
    expect(b).toMatchObject({ key: preset.key, record: { id: preset.id, hash: preset.hash } });
    expect(store.doc.keys.map((k) => k.name).sort()).toEqual(['dev', 'other']);
    expect(store.doc.keys.some((k) => k.id === a.record.id)).toBe(false);
    await expect(admin.provision('dev', 'ep_nope')).rejects.toMatchObject({
      code: 'MALFORMED_KEY',
    });
  });
});
