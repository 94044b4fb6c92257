/** A key store file with freshly made keys, for a controller configured with `auth.store: "file:<path>"`. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKey, type GeneratedKey } from '../../controller/auth/key-format.ts';
import type { KeyLimits, KeyStoreDocument } from '../../controller/auth/key-record.ts';

/** A key to make: its name, and limits of its own if it is not to have the configured defaults. */
export type KeyToMake = string | { name: string; limits?: KeyLimits };

export interface KeyStoreFile {
  readonly path: string;
  /** The `auth.store` setting that reads it: `file:<path>`. */
  readonly store: string;
  /** One key per key asked for, in that order; a client sends `Authorization: Bearer ${key}`. */
  readonly keys: readonly GeneratedKey[];
}

/** Writes `keys.json` in `dir` holding a new key for each one asked for. */
export function writeKeyStoreFile(dir: string, wanted: readonly KeyToMake[] = ['t']): KeyStoreFile {
  const keys = wanted.map(() => generateKey());
  const path = join(dir, 'keys.json');
  const createdAt = new Date().toISOString();
  const doc: KeyStoreDocument = {
    version: 1,
    keys: wanted.map((w, i) => {
      const { id, hash } = keys[i]!;
      return typeof w === 'string'
        ? { id, name: w, hash, createdAt }
        : { id, name: w.name, hash, createdAt, ...(w.limits ? { limits: w.limits } : {}) };
    }),
  };
  writeFileSync(path, JSON.stringify(doc));
  return { path, store: `file:${path}`, keys };
}
