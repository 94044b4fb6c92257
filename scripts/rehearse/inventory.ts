/**
 * @module
 * What exists in the emulator, listed through its AWS APIs (inventory.py, one boto3 process), and what is new in
 * one listing compared with another: after a destroy, anything new since the empty emulator is left behind.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./inventory.py', import.meta.url));

/** Resource kind → the resources of that kind (ids, names or small records). */
export type Inventory = Record<string, unknown[]>;

/** Lists the emulator's resources. @throws Error with boto3's message */
export function takeInventory(env: NodeJS.ProcessEnv): Promise<Inventory> {
  return new Promise((resolve, reject) => {
    execFile(
      'python3',
      [SCRIPT],
      { env, encoding: 'utf8', maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        if (err)
          reject(
            new Error(
              `listing the emulator failed: ${stderr.trim().split('\n').slice(-3).join(' ')}`,
            ),
          );
        else resolve(JSON.parse(stdout) as Inventory);
      },
    );
  });
}

/** Resources in `after` that were not in `before`, by kind (kinds with none are left out). */
export function newSince(before: Inventory, after: Inventory): Inventory {
  const out: Inventory = {};
  for (const [kind, items] of Object.entries(after)) {
    const seen = new Set((before[kind] ?? []).map((i) => JSON.stringify(i)));
    const fresh = items.filter((i) => !seen.has(JSON.stringify(i)));
    if (fresh.length) out[kind] = fresh;
  }
  return out;
}
