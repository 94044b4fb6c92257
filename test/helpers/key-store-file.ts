/** A key store file with freshly made keys, for a controller configured with `auth.store: "file:<path>"`. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKey, type GeneratedKey } from '../../controller/auth/key-format.ts';

export interface KeyStoreFile {
  readonly path: string;
  /** The `auth.store` setting that reads it: `file:<path>`. */
  readonly store: string;
  /** One key per name, in the order given; a client sends `Authorization: Bearer ${key}`. */
  readonly keys: readonly GeneratedKey[];
}

/** Writes `keys.json` in `dir` holding one new key per name. */
export function writeKeyStoreFile(dir: string, names: readonly string[] = ['t']): KeyStoreFile {
  const keys = names.map(() => generateKey());
  const path = join(dir, 'keys.json');
  const createdAt = new Date().toISOString();
  writeFileSync(
    path,
    JSON.stringify({
      version: 1,
      keys: keys.map(({ id, hash }, i) => ({ id, name: names[i], hash, createdAt })),
    }),
  );
  return { path, store: `file:${path}`, keys };
}
