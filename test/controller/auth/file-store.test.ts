import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKey } from '../../../controller/auth/key-format.ts';
import type { KeyStoreDocument } from '../../../controller/auth/key-record.ts';
import { createFileKeyStore } from '../../../controller/auth/stores/file-store.ts';
import { KeyStoreError } from '../../../controller/auth/stores/key-store.ts';
import { openKeyStore } from '../../../controller/auth/stores/open-key-store.ts';

const isRoot = process.getuid?.() === 0;

function docWithOneKey(): { doc: KeyStoreDocument; key: string } {
  const { key, id, hash } = generateKey();
  return {
    key,
    doc: { version: 1, keys: [{ id, name: 'alice', hash, createdAt: new Date().toISOString() }] },
  };
}

describe('file key store', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ep-file-store-'));
  });
  afterEach(async () => {
    await chmod(dir, 0o700).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('saves atomically with mode 0600 and loads the same document back', async () => {
    const store = createFileKeyStore(join(dir, 'keys.json'), { create: true });
    const { doc, key } = docWithOneKey();
    await store.save(doc);
    expect(await store.load()).toEqual(doc);
    const info = await stat(join(dir, 'keys.json'));
    expect(info.mode & 0o777).toBe(0o600);
    // No temporary file is left behind, and the key itself is nowhere in the file.
    expect(await readdir(dir)).toEqual(['keys.json']);
    const text = await readFile(join(dir, 'keys.json'), 'utf8');
    expect(text).not.toContain(key);
    expect(text).not.toContain(key.slice(16, 59));
  });

  it('treats a missing file as an empty store only when asked to create it', async () => {
    const path = join(dir, 'keys.json');
    expect(await createFileKeyStore(path, { create: true }).load()).toEqual({
      version: 1,
      keys: [],
    });
    await expect(createFileKeyStore(path).load()).rejects.toMatchObject({
      code: 'EP_KEYSTORE_NOT_FOUND',
      message: expect.stringMatching(/does not exist/),
    });
  });

  it('fails with a clear error when the directory does not exist', async () => {
    const store = openKeyStore(`file:${join(dir, 'missing', 'keys.json')}`, { create: true });
    await expect(store.load()).rejects.toMatchObject({
      code: 'EP_KEYSTORE_NOT_FOUND',
      message: expect.stringMatching(/directory .*missing does not exist/),
    });
    await expect(store.save({ version: 1, keys: [] })).rejects.toBeInstanceOf(KeyStoreError);
  });

  it('fails with a clear error when the directory is not writable', async () => {
    // root ignores file modes, so as root use sysfs, which refuses new files even to root.
    let target = join(dir, 'ro', 'keys.json');
    if (isRoot) {
      target = '/sys/ep-keys.json';
    } else {
      await mkdir(join(dir, 'ro'));
      await chmod(join(dir, 'ro'), 0o500);
    }
    const store = createFileKeyStore(target, { create: true });
    await expect(store.save({ version: 1, keys: [] })).rejects.toMatchObject({
      code: 'EP_KEYSTORE_ACCESS_DENIED',
      message: expect.stringMatching(/cannot write .*permission denied/),
    });
  });

  it('fails with a clear error when the path is a directory', async () => {
    const store = createFileKeyStore(dir);
    await expect(store.load()).rejects.toMatchObject({ code: 'EP_KEYSTORE_UNAVAILABLE' });
  });

  it('rejects a document that is not JSON or not a key store, naming the field', async () => {
    const path = join(dir, 'keys.json');
    await writeFile(path, '{not json');
    await expect(createFileKeyStore(path).load()).rejects.toMatchObject({
      code: 'EP_KEYSTORE_INVALID',
      message: expect.stringMatching(/not valid JSON/),
    });
    await writeFile(path, JSON.stringify({ version: 1, keys: [{ id: 'short', name: 'x' }] }));
    await expect(createFileKeyStore(path).load()).rejects.toMatchObject({
      code: 'EP_KEYSTORE_INVALID',
      message: expect.stringMatching(/keys\.0\.id/),
    });
    await writeFile(path, JSON.stringify({ version: 2, keys: [] }));
    await expect(createFileKeyStore(path).load()).rejects.toMatchObject({
      code: 'EP_KEYSTORE_INVALID',
    });
  });

  it('refuses to write an invalid document (duplicate ids)', async () => {
    const { doc } = docWithOneKey();
    doc.keys.push({ ...doc.keys[0]! });
    const store = createFileKeyStore(join(dir, 'keys.json'), { create: true });
    await expect(store.save(doc)).rejects.toMatchObject({
      code: 'EP_KEYSTORE_INVALID',
      message: expect.stringMatching(/unique/),
    });
  });

  it('keeps unknown fields so a newer writer loses nothing', async () => {
    const path = join(dir, 'keys.json');
    const { doc } = docWithOneKey();
    await writeFile(
      path,
      JSON.stringify({ ...doc, note: 'x', keys: [{ ...doc.keys[0], tier: 'gold' }] }),
    );
    const store = createFileKeyStore(path);
    await store.save(await store.load());
    const again = JSON.parse(await readFile(path, 'utf8'));
    expect(again.note).toBe('x');
    expect(again.keys[0].tier).toBe('gold');
  });

  it('rejects store specs that are not file: or aws:', () => {
    for (const spec of ['none', 'file:', 'aws:', 's3:bucket', 'keys.json']) {
      expect(() => openKeyStore(spec)).toThrow(
        /authentication is disabled|use file:PATH or aws:SECRET_ID/,
      );
    }
  });
});
