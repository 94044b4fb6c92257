/**
 * @module
 * The development key of `npm start`. Each running instance owns a key named after its process id, so a second
 * `npm start` (on another port, or one that fails) never replaces the key a running instance printed. Keys of
 * instances that are gone are removed when the next one starts, and an instance removes its own key on exit.
 */
import { KeyAdmin, KeyAdminError } from '../../controller/auth/key-admin.ts';
import type { KeyRecord } from '../../controller/auth/key-record.ts';
import { openKeyStore } from '../../controller/auth/stores/open-key-store.ts';

/** Earlier releases named the one development key this; it belongs to no running instance. */
const LEGACY_NAME = 'npm-start';
const NAME_PATTERN = /^npm-start \(pid (\d+)\)$/;

export function devKeyName(pid: number): string {
  return `${LEGACY_NAME} (pid ${pid})`;
}

/** True when no process with this id exists (a process we may not signal still exists). */
function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function isStale(record: KeyRecord): boolean {
  if (record.name === LEGACY_NAME) return true;
  const pid = NAME_PATTERN.exec(record.name)?.[1];
  return pid !== undefined && Number(pid) !== process.pid && isGone(Number(pid));
}

export interface DevKey {
  readonly key: string;
  /** Removes this instance's key from the store. */
  release(): Promise<void>;
}

/**
 * Issues this process's development key (or stores `presetKey`, from `EP_DEV_API_KEY`), after removing the keys
 * of `npm start` instances that no longer run.
 */
export async function provisionDevKey(storePath: string, presetKey?: string): Promise<DevKey> {
  const admin = new KeyAdmin(openKeyStore(`file:${storePath}`, { create: true }));
  const name = devKeyName(process.pid);
  await admin.remove(isStale);
  try {
    const { key } = await admin.provision(name, presetKey);
    return { key, release: async () => void (await admin.remove((k) => k.name === name)) };
  } catch (err) {
    if (err instanceof KeyAdminError && err.code === 'MALFORMED_KEY') {
      throw new Error(
        'EP_DEV_API_KEY is not a well-formed key; create one with `npm run keys -- create`',
      );
    }
    throw err;
  }
}
