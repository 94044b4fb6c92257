/**
 * @module
 * Concurrent key administration: eight `npm run keys -- create` processes and one `revoke` at once on one file
 * store, several runs. Every change must be kept, and each process must have printed only what was stored.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { generateKey } from '../../../controller/auth/key-format.ts';
import { openKeyStore } from '../../../controller/auth/stores/open-key-store.ts';
import type { AdversarialScenario } from './scenario.ts';

const RUNS = 3;
const WRITERS = 8;
const run = promisify(execFile);
const keysScript = fileURLToPath(new URL('../../keys.ts', import.meta.url));
const cli = (args: string[]) =>
  run(process.execPath, ['--import', import.meta.resolve('tsx'), keysScript, ...args], {
    timeout: 120_000,
  });

export const keyWriters: AdversarialScenario = {
  id: 'key-writers',
  title: `keys kept under ${WRITERS} concurrent writers and 1 revoker (file store, ${RUNS} runs)`,
  async run({ log }) {
    let kept = 0;
    let revocationsKept = 0;
    let printedButLost = 0;
    for (let r = 0; r < RUNS; r++) {
      const dir = await mkdtemp(join(tmpdir(), 'ep-adversarial-keys-'));
      try {
        const file = join(dir, 'keys.json');
        const old = generateKey();
        await writeFile(
          file,
          JSON.stringify({
            version: 1,
            keys: [
              { id: old.id, name: 'old', hash: old.hash, createdAt: new Date().toISOString() },
            ],
          }),
        );
        const store = `file:${file}`;
        const [revoke, ...creates] = await Promise.all([
          cli(['revoke', old.id, '--store', store, '--json']),
          ...Array.from({ length: WRITERS }, (_, i) =>
            cli(['create', '--store', store, '--name', `w${i}`, '--json']),
          ),
        ]);
        const stored = await openKeyStore(store).load();
        const ids = new Set(stored.keys.map((k) => k.id));
        const printed = creates.map((c) => (JSON.parse(c.stdout) as { id: string }).id);
        kept += printed.filter((id) => ids.has(id)).length;
        printedButLost += printed.filter((id) => !ids.has(id)).length;
        const revokedAt = (JSON.parse(revoke.stdout) as { revokedAt: string }).revokedAt;
        if (stored.keys.find((k) => k.id === old.id)?.revokedAt === revokedAt) revocationsKept += 1;
        log(`key writers: run ${r + 1}: ${stored.keys.length} keys in the store`);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
    return [
      { name: 'created keys kept', value: kept, unit: `of ${RUNS * WRITERS}` },
      { name: 'revocations kept', value: revocationsKept, unit: `of ${RUNS}` },
      { name: 'keys printed by the CLI but not stored', value: printedButLost, unit: 'keys' },
    ];
  },
};
