/**
 * @module
 * The one interface behind every key store, and its typed errors. Callers match on `code`.
 */
import type { KeyStoreDocument } from '../key-record.ts';

/** Stable error codes of key store failures. */
export type KeyStoreErrorCode =
  /** The spec is not `file:PATH` or `aws:SECRET_ID`. */
  | 'EP_KEYSTORE_SPEC'
  /** The file, its directory or the secret does not exist. */
  | 'EP_KEYSTORE_NOT_FOUND'
  /** Permission denied (file mode, IAM policy, KMS key policy). */
  | 'EP_KEYSTORE_ACCESS_DENIED'
  /** The store asked us to slow down (Secrets Manager throttling). */
  | 'EP_KEYSTORE_THROTTLED'
  /** The stored document is not valid JSON or not a valid key store document. */
  | 'EP_KEYSTORE_INVALID'
  /** Other writers kept changing the store while this one tried to (see `KeyStore.update`). */
  | 'EP_KEYSTORE_CONFLICT'
  /** Any other failure to read or write (network, disk full, …). */
  | 'EP_KEYSTORE_UNAVAILABLE';

/** A key store operation failed; `message` says what and where, `code` says which kind. */
export class KeyStoreError extends Error {
  override name = 'KeyStoreError';
  constructor(
    readonly code: KeyStoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Where keys live. Implementations hold no cache: the key ring does. */
export interface KeyStore {
  /** Where the store is, for messages and logs (`file:/etc/ep/keys.json`, `aws:ep/api-keys`). */
  readonly description: string;
  /** Reads and validates the whole document. */
  load(): Promise<KeyStoreDocument>;
  /** Replaces the whole document (validated first), whatever it holds now. Prefer `update`. */
  save(doc: KeyStoreDocument): Promise<void>;
  /**
   * Changes the document as a compare-and-swap: reads it, applies `change`, and writes the result only if nobody
   * else wrote in between; otherwise it starts again from the newer document, so concurrent writers never lose
   * each other's changes. `change` may run more than once and must derive everything from the document it is
   * given. Resolves to what `change` returned on the attempt that was stored.
   * @throws KeyStoreError `EP_KEYSTORE_CONFLICT` when other writers won every attempt
   */
  update<T>(change: (doc: KeyStoreDocument) => T): Promise<T>;
}
