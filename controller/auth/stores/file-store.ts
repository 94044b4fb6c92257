/**
 * @module
 * A key store in a local JSON file (local mode, tests, single hosts). Writes are atomic (temporary file in the
 * same directory, fsync, rename), so a reader never sees half a document, and the file is created with mode 0600.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { emptyKeyStoreDocument } from '../key-record.ts';
import { KeyStoreError, type KeyStore } from './key-store.ts';
import { documentToSave, parseDocument } from './store-document.ts';

export interface FileKeyStoreOptions {
  /**
   * Treat a missing file (in an existing directory) as an empty store; the first `save` creates it.
   * @default false - a missing file is an `EP_KEYSTORE_NOT_FOUND` error
   */
  create?: boolean;
}

/** Opens a JSON file key store. No I/O happens until `load` or `save`. */
export function createFileKeyStore(path: string, options: FileKeyStoreOptions = {}): KeyStore {
  const file = resolve(path);
  const dir = dirname(file);
  const description = `file:${file}`;

  async function requireDirectory(): Promise<void> {
    try {
      const info = await stat(dir);
      if (!info.isDirectory()) {
        throw new KeyStoreError(
          'EP_KEYSTORE_NOT_FOUND',
          `key store directory ${dir} is not a directory`,
        );
      }
    } catch (err) {
      if (err instanceof KeyStoreError) throw err;
      throw mapFsError(err, `key store directory ${dir}`);
    }
  }

  return {
    description,

    async load() {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        if (isErrno(err, 'ENOENT')) {
          await requireDirectory();
          if (options.create) return emptyKeyStoreDocument();
          throw new KeyStoreError(
            'EP_KEYSTORE_NOT_FOUND',
            `key store file ${file} does not exist (create a key to initialize it)`,
            { cause: err },
          );
        }
        throw mapFsError(err, `key store file ${file}`);
      }
      return parseDocument(text, description);
    },

    async save(doc) {
      const checked = documentToSave(doc, file);
      await requireDirectory();
      const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
      try {
        // 'wx' fails rather than follow a planted symlink or reuse someone else's file.
        const handle = await open(temp, 'wx', 0o600);
        try {
          await handle.writeFile(`${JSON.stringify(checked, null, 2)}\n`, 'utf8');
          await handle.sync();
        } finally {
          await handle.close();
        }
        await rename(temp, file);
      } catch (err) {
        await rm(temp, { force: true }).catch(() => undefined);
        throw mapFsError(err, `key store file ${file}`, 'write');
      }
      await syncDirectory(dir);
    },
  };
}

/** Makes the rename durable across a power loss. Best effort: some filesystems cannot fsync a directory. */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // The new file is in place either way; only its durability on crash is weaker.
  }
}

function isErrno(err: unknown, code: string): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === code;
}

function mapFsError(err: unknown, what: string, verb: 'read' | 'write' = 'read'): KeyStoreError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new KeyStoreError('EP_KEYSTORE_NOT_FOUND', `${what} does not exist`, { cause: err });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new KeyStoreError(
        'EP_KEYSTORE_ACCESS_DENIED',
        `cannot ${verb} ${what}: permission denied (${code})`,
        {
          cause: err,
        },
      );
    default:
      return new KeyStoreError(
        'EP_KEYSTORE_UNAVAILABLE',
        `cannot ${verb} ${what}: ${(err as Error).message}`,
        { cause: err },
      );
  }
}
