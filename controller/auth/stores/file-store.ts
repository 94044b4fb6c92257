/**
 * @module
 * A key store in a local JSON file (local mode, tests, single hosts). Writes are atomic (temporary file in the
 * same directory, fsync, rename), so a reader never sees half a document, and the file is created with mode 0600.
 * Writers take a lock file (`PATH.lock`, created exclusively) and, before the rename, check that the file still
 * holds what they read, so concurrent `npm run keys` runs never lose each other's changes.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KeyStoreDocument } from '../key-record.ts';
import { emptyKeyStoreDocument } from '../key-record.ts';
import { KeyStoreError, type KeyStore } from './key-store.ts';
import { retryConflicts, WriteConflict } from './retry-conflicts.ts';
import { documentToSave, parseDocument } from './store-document.ts';

/** How long a writer waits for another writer's lock before giving up. */
const LOCK_WAIT_MS = 15_000;
/** A lock older than this was left by a writer that died (a write takes milliseconds): it is taken over. */
const STALE_LOCK_MS = 30_000;

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
      const release = await lock(`${file}.lock`);
      try {
        await write(checked, () => Promise.resolve());
      } finally {
        await release();
      }
    },

    async update(change) {
      await requireDirectory();
      return retryConflicts(description, async () => {
        const release = await lock(`${file}.lock`);
        try {
          const before = await readCurrent();
          const doc = before === undefined ? missing() : parseDocument(before, description);
          const result = change(doc);
          await write(documentToSave(doc, file), async () => {
            // The version check: a writer that ignores the lock (an older CLI, an editor) may have replaced the
            // file since it was read; then this attempt starts again from the new content.
            if ((await readCurrent()) !== before) throw new WriteConflict(`${file} changed`);
          });
          return result;
        } finally {
          await release();
        }
      });
    },
  };

  function missing(): KeyStoreDocument {
    if (options.create) return emptyKeyStoreDocument();
    throw new KeyStoreError(
      'EP_KEYSTORE_NOT_FOUND',
      `key store file ${file} does not exist (create a key to initialize it)`,
    );
  }

  /** The file's text, or undefined when it does not exist. */
  async function readCurrent(): Promise<string | undefined> {
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return undefined;
      throw mapFsError(err, `key store file ${file}`);
    }
  }

  /** Writes a temporary file, runs `check`, then renames it over the store. */
  async function write(doc: KeyStoreDocument, check: () => Promise<void>): Promise<void> {
    const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      // 'wx' fails rather than follow a planted symlink or reuse someone else's file.
      const handle = await open(temp, 'wx', 0o600);
      try {
        await handle.writeFile(`${JSON.stringify(doc, null, 2)}\n`, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await check();
      await rename(temp, file);
    } catch (err) {
      await rm(temp, { force: true }).catch(() => undefined);
      if (err instanceof WriteConflict || err instanceof KeyStoreError) throw err;
      throw mapFsError(err, `key store file ${file}`, 'write');
    }
    await syncDirectory(dir);
  }
}

/**
 * Takes the writers' lock: a file created exclusively ('wx'), holding the owner's pid and time. Waits while
 * another writer holds it, and takes over a lock older than STALE_LOCK_MS.
 * @returns the function that releases it.
 */
async function lock(path: string): Promise<() => Promise<void>> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const handle = await open(path, 'wx', 0o600);
      try {
        await handle.writeFile(`${process.pid} ${new Date().toISOString()}\n`);
      } finally {
        await handle.close();
      }
      return () => rm(path, { force: true });
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw mapFsError(err, `lock file ${path}`, 'write');
    }
    const age = await stat(path).then(
      (info) => Date.now() - info.mtimeMs,
      () => 0,
    );
    if (age > STALE_LOCK_MS) {
      await rm(path, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new KeyStoreError(
        'EP_KEYSTORE_CONFLICT',
        `another writer has held ${path} for ${Math.round(age / 1000)} s; if no key CLI is running, delete it`,
      );
    }
    await sleep(5 + Math.random() * 20);
  }
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
