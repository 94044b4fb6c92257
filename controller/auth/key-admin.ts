/**
 * @module
 * Key administration: creating, rotating and revoking API keys in a key store. The product rules live here, not in
 * the tools that call it (`npm run keys`, `npm start`): a new key is returned once and only its hash is stored;
 * ids stay unique; a rotated key keeps working until `graceUntil` and names its successor in `replacedBy`; only an
 * active key can be rotated; revocation is recorded with its instant.
 */
import { generateKey, hashKey, parseKey } from './key-format.ts';
import { keyStatus } from './key-record.ts';
import type { KeyLimits, KeyRecord, KeyStoreDocument } from './key-record.ts';
import type { KeyStore } from './stores/key-store.ts';

export type KeyAdminErrorCode =
  /** No key with that id in the store. */
  | 'KEY_NOT_FOUND'
  /** The key is revoked, expired or already rotating. */
  | 'KEY_NOT_ACTIVE'
  /** The requested expiry is not in the future. */
  | 'INVALID_EXPIRY'
  /** A preset key is not a well-formed `ep_…` key. */
  | 'MALFORMED_KEY';

export class KeyAdminError extends Error {
  override name = 'KeyAdminError';
  readonly code: KeyAdminErrorCode;
  constructor(code: KeyAdminErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export interface NewKeySpec {
  /** Operator-chosen label (customer, service). */
  readonly name: string;
  /** The key stops working at this instant (ms since the epoch). @default - never */
  readonly expiresAt?: number | undefined;
  /** Per-key overrides of the configured limits. @default - the configured defaults */
  readonly limits?: KeyLimits | undefined;
}

export interface RotateSpec {
  /** How long the old key keeps working, in ms. */
  readonly graceMs: number;
  /** @default - the old key's name */
  readonly name?: string | undefined;
  /**
   * When the new key stops working (ms since the epoch).
   * @default - the old key's lifetime again, counted from the rotation (a key made with `--expires 90d` is
   * replaced by one that also lasts 90 days); never, when the old key never expires
   */
  readonly expiresAt?: number | undefined;
  /** @default - the old key's limits */
  readonly limits?: KeyLimits | undefined;
}

/** A key just issued: the only moment the key itself exists outside its holder. */
export interface IssuedKey {
  readonly record: KeyRecord;
  readonly key: string;
}

export interface RotatedKey extends IssuedKey {
  /** The key it replaces, now with `graceUntil` and `replacedBy` set. */
  readonly old: KeyRecord;
  /** When the old key stops working. */
  readonly graceUntil: string;
}

export interface KeyAdminOptions {
  /**
   * Clock, ms since the epoch.
   * @default Date.now
   */
  readonly clock?: () => number;
}

/**
 * Changes a key store. Each operation loads the store, changes it and saves it.
 * @example
 * const admin = new KeyAdmin(openKeyStore('file:keys.json', { create: true }));
 * const { key } = await admin.create({ name: 'acme', limits: { requestsPerMinute: 120 } });
 */
export class KeyAdmin {
  readonly store: KeyStore;
  readonly #clock: () => number;

  constructor(store: KeyStore, options: KeyAdminOptions = {}) {
    this.store = store;
    this.#clock = options.clock ?? Date.now;
  }

  async list(): Promise<KeyRecord[]> {
    return (await this.store.load()).keys;
  }

  /** Creates a key. @throws {KeyAdminError} `INVALID_EXPIRY` */
  async create(spec: NewKeySpec): Promise<IssuedKey> {
    const doc = await this.store.load();
    const issued = issueKey(doc, spec, this.#clock());
    doc.keys.push(issued.record);
    await this.store.save(doc);
    return issued;
  }

  /**
   * Creates a replacement for an active key. The old key keeps working for `graceMs` (never longer than its own
   * expiry), then counts as expired.
   * @throws {KeyAdminError} `KEY_NOT_FOUND`, `KEY_NOT_ACTIVE`, `INVALID_EXPIRY`
   */
  async rotate(id: string, spec: RotateSpec): Promise<RotatedKey> {
    const at = this.#clock();
    const doc = await this.store.load();
    const old = this.#find(doc, id);
    const status = keyStatus(old, at);
    if (status !== 'active') {
      throw new KeyAdminError(
        'KEY_NOT_ACTIVE',
        `key ${id} is ${status}${old.replacedBy ? ` (replaced by ${old.replacedBy})` : ''}; only an active key can be rotated`,
      );
    }
    const issued = issueKey(
      doc,
      {
        name: spec.name ?? old.name,
        expiresAt: spec.expiresAt ?? carriedExpiry(old, at),
        limits: spec.limits ?? old.limits,
      },
      at,
    );
    // The old key may already expire before the grace period ends; it never gains lifetime by rotation.
    const graceUntil = new Date(at + spec.graceMs).toISOString();
    old.graceUntil = graceUntil;
    old.replacedBy = issued.record.id;
    doc.keys.push(issued.record);
    await this.store.save(doc);
    return { ...issued, old, graceUntil };
  }

  /**
   * Revokes a key (controllers drop it at their next reload). Revoking a revoked key changes nothing.
   * @throws {KeyAdminError} `KEY_NOT_FOUND`
   */
  async revoke(
    id: string,
  ): Promise<{ readonly record: KeyRecord; readonly alreadyRevoked: boolean }> {
    const doc = await this.store.load();
    const record = this.#find(doc, id);
    if (record.revokedAt !== undefined) return { record, alreadyRevoked: true };
    record.revokedAt = new Date(this.#clock()).toISOString();
    await this.store.save(doc);
    return { record, alreadyRevoked: false };
  }

  /**
   * Makes `key` (or a fresh key) the only key called `name`: earlier keys of that name, and a record with the
   * key's id, are removed. For a development store that should hold one well-known key.
   * @throws {KeyAdminError} `MALFORMED_KEY`
   */
  async provision(name: string, key?: string): Promise<IssuedKey> {
    let issued: { id: string; key: string; hash: string };
    if (key === undefined) {
      issued = generateKey();
    } else {
      const parsed = parseKey(key);
      if (!parsed) throw new KeyAdminError('MALFORMED_KEY', 'not a well-formed API key');
      issued = { id: parsed.id, key, hash: hashKey(key) };
    }
    const doc = await this.store.load();
    doc.keys = doc.keys.filter((k) => k.name !== name && k.id !== issued.id);
    const record: KeyRecord = {
      id: issued.id,
      name,
      hash: issued.hash,
      createdAt: new Date(this.#clock()).toISOString(),
    };
    doc.keys.push(record);
    await this.store.save(doc);
    return { record, key: issued.key };
  }

  /**
   * Deletes the records `select` picks and returns them: for a tool that owns a family of keys, such as the
   * per-process development keys of `npm start`. Operators revoke instead, which leaves a record.
   */
  async remove(select: (record: KeyRecord) => boolean): Promise<KeyRecord[]> {
    const doc = await this.store.load();
    const removed = doc.keys.filter(select);
    if (removed.length === 0) return [];
    doc.keys = doc.keys.filter((k) => !select(k));
    await this.store.save(doc);
    return removed;
  }

  #find(doc: KeyStoreDocument, id: string): KeyRecord {
    const record = doc.keys.find((k) => k.id === id);
    if (!record) {
      throw new KeyAdminError('KEY_NOT_FOUND', `no key with id ${id} in ${this.store.description}`);
    }
    return record;
  }
}

/** A replacement lives as long as the key it replaces did: rotation must not drop an expiry. */
function carriedExpiry(old: KeyRecord, at: number): number | undefined {
  if (old.expiresAt === undefined) return undefined;
  const lifetime = Date.parse(old.expiresAt) - Date.parse(old.createdAt);
  return Number.isFinite(lifetime) && lifetime > 0 ? at + lifetime : undefined;
}

function issueKey(doc: KeyStoreDocument, spec: NewKeySpec, at: number): IssuedKey {
  if (spec.expiresAt !== undefined && spec.expiresAt <= at) {
    throw new KeyAdminError(
      'INVALID_EXPIRY',
      `the expiry must be in the future, got ${new Date(spec.expiresAt).toISOString()}`,
    );
  }
  const taken = new Set(doc.keys.map((k) => k.id));
  let generated = generateKey();
  // 62^12 ids make a collision all but impossible; checking costs nothing and keeps ids unique regardless.
  while (taken.has(generated.id)) generated = generateKey();
  const record: KeyRecord = {
    id: generated.id,
    name: spec.name,
    hash: generated.hash,
    createdAt: new Date(at).toISOString(),
    ...(spec.expiresAt === undefined ? {} : { expiresAt: new Date(spec.expiresAt).toISOString() }),
    ...(spec.limits === undefined ? {} : { limits: spec.limits }),
  };
  return { record, key: generated.key };
}
