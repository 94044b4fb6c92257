/**
 * Key store writes are compare-and-swap: eight administrators creating keys while a ninth revokes one never lose
 * a change, on the file store (lock file + version check) and on Secrets Manager (AWSCURRENT stage move), and
 * what each operation returned is what the store holds.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KeyAdmin } from '../../../controller/auth/key-admin.ts';
import { generateKey } from '../../../controller/auth/key-format.ts';
import type { KeyStore } from '../../../controller/auth/stores/key-store.ts';
import { openKeyStore } from '../../../controller/auth/stores/open-key-store.ts';
import { fakeSecret } from '../../helpers/fake-secrets-manager.ts';

function initialDocument() {
  const { id, hash } = generateKey();
  const doc = {
    version: 1,
    keys: [{ id, name: 'old', hash, createdAt: new Date().toISOString() }],
  };
  return { id, text: JSON.stringify(doc) };
}

/** Runs 8 creates and 1 revoke at once, each through its own store handle (as separate processes would). */
async function race(openStore: () => KeyStore, revokeId: string) {
  const admins = Array.from({ length: 9 }, () => new KeyAdmin(openStore()));
  const [revoker, ...creators] = admins;
  const [revoked, ...created] = await Promise.all([
    revoker!.revoke(revokeId),
    ...creators.map((admin, i) => admin.create({ name: `c${i}` })),
  ]);
  const stored = await openStore().load();
  return { revoked, created, stored };
}

describe('concurrent key store writers', () => {
  it.each([1, 2, 3, 4, 5])('file store keeps all 9 changes (run %i)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ep-cas-'));
    try {
      const file = join(dir, 'keys.json');
      const initial = initialDocument();
      writeFileSync(file, initial.text);
      const { revoked, created, stored } = await race(
        () => openKeyStore(`file:${file}`),
        initial.id,
      );
      expect(revoked.alreadyRevoked).toBe(false);
      expect(stored.keys).toHaveLength(9);
      expect(stored.keys.find((k) => k.id === initial.id)?.revokedAt).toBe(
        revoked.record.revokedAt,
      );
      for (const issued of created) {
        expect(stored.keys.find((k) => k.id === issued.record.id)).toEqual(issued.record);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([1, 2, 3, 4, 5])('Secrets Manager store keeps all 9 changes (run %i)', async () => {
    const initial = initialDocument();
    const fake = fakeSecret('ep/keys', initial.text, { jitterMs: 5 });
    try {
      const { revoked, created, stored } = await race(
        () => openKeyStore('aws:ep/keys', { client: fake.client }),
        initial.id,
      );
      expect(stored.keys).toHaveLength(9);
      expect(stored.keys.find((k) => k.id === initial.id)?.revokedAt).toBe(
        revoked.record.revokedAt,
      );
      for (const issued of created) {
        expect(stored.keys.find((k) => k.id === issued.record.id)).toEqual(issued.record);
      }
      // No version but the current one is left pending.
      const pending = [...fake.versions.values()].filter((v) => v.stages.has('AWSPENDING'));
      expect(pending).toHaveLength(0);
    } finally {
      fake.restore();
    }
  });

  it('a file store writer that ignored the lock makes the locked writer start again, not overwrite it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ep-cas-'));
    try {
      const file = join(dir, 'keys.json');
      const initial = initialDocument();
      writeFileSync(file, initial.text);
      const store = openKeyStore(`file:${file}`);
      let attempts = 0;
      const intruder = generateKey();
      await store.update((doc) => {
        attempts += 1;
        if (attempts === 1) {
          // Someone replaces the file between this writer's read and its rename.
          const theirs = JSON.parse(initial.text);
          theirs.keys.push({
            id: intruder.id,
            name: 'intruder',
            hash: intruder.hash,
            createdAt: new Date().toISOString(),
          });
          writeFileSync(file, JSON.stringify(theirs));
        }
        doc.keys.push({ ...doc.keys[0]!, id: generateKey().id, name: 'mine' });
      });
      expect(attempts).toBe(2);
      const names = (await store.load()).keys.map((k) => k.name).sort();
      expect(names).toEqual(['intruder', 'mine', 'old']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
