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
  /** Replaces the whole document (validated first). */
  save(doc: KeyStoreDocument): Promise<void>;
}
