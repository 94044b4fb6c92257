/** An in-memory KeyStore for tests, plus helpers to put generated keys in it. */
import { generateKey } from '../../../controller/auth/key-format.ts';
import type { KeyRecord, KeyStoreDocument } from '../../../controller/auth/key-record.ts';
import type { KeyStore } from '../../../controller/auth/stores/key-store.ts';

export interface MemoryStore extends KeyStore {
  doc: KeyStoreDocument;
  /** Adds a generated key with the given record fields; returns the full key. */
  add(
    name: string,
    fields?: Partial<Omit<KeyRecord, 'id' | 'hash' | 'name'>>,
  ): { key: string; id: string };
  /** Make `load` fail (as an unreachable store would) until set back to undefined. */
  failWith: Error | undefined;
}

export function memoryStore(): MemoryStore {
  const store: MemoryStore = {
    description: 'memory:test',
    doc: { version: 1, keys: [] },
    failWith: undefined,
    async load() {
      if (store.failWith) throw store.failWith;
      return structuredClone(store.doc);
    },
    async save(doc) {
      store.doc = structuredClone(doc);
    },
    async update(change) {
      if (store.failWith) throw store.failWith;
      const doc = structuredClone(store.doc);
      const result = change(doc);
      store.doc = doc;
      return result;
    },
    add(name, fields = {}) {
      const { key, id, hash } = generateKey();
      store.doc.keys.push({ id, name, hash, createdAt: new Date().toISOString(), ...fields });
      return { key, id };
    },
  };
  return store;
}
