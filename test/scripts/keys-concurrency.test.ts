/**
 * Concurrent `npm run keys` processes on one file store: 8 creates and 1 revoke at once keep all 9 changes, and
 * each process printed only what was stored. Real processes, because the lock must hold across them.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { generateKey } from '../../controller/auth/key-format.ts';
import { openKeyStore } from '../../controller/auth/stores/open-key-store.ts';

const run = promisify(execFile);
const cli = (args: string[]) =>
  run(process.execPath, ['--import', 'tsx', 'scripts/keys.ts', ...args], {
    cwd: process.cwd(),
    timeout: 60_000,
  });

describe('concurrent key CLI runs', () => {
  // One run here (9 processes); the store-level test repeats the race several times in-process.
  it('keep every create and the revoke', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ep-cli-cas-'));
    try {
      const file = join(dir, 'keys.json');
      const old = generateKey();
      writeFileSync(
        file,
        JSON.stringify({
          version: 1,
          keys: [{ id: old.id, name: 'old', hash: old.hash, createdAt: new Date().toISOString() }],
        }),
      );
      const store = `file:${file}`;
      const [revoke, ...creates] = await Promise.all([
        cli(['revoke', old.id, '--store', store, '--json']),
        ...Array.from({ length: 8 }, (_, i) =>
          cli(['create', '--store', store, '--name', `c${i}`, '--json']),
        ),
      ]);
      const stored = await openKeyStore(store).load();
      expect(stored.keys).toHaveLength(9);
      const revokedAt = JSON.parse(revoke.stdout).revokedAt;
      expect(stored.keys.find((k) => k.id === old.id)?.revokedAt).toBe(revokedAt);
      for (const created of creates) {
        const printed = JSON.parse(created.stdout);
        expect(stored.keys.find((k) => k.id === printed.id)?.name).toBe(printed.name);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
