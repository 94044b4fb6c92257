/**
 * @module
 * Turns a store spec from the config (`auth.store`) or the CLI (`--store`) into a `KeyStore`.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createFileKeyStore } from './file-store.ts';
import { KeyStoreError, type KeyStore } from './key-store.ts';
import { createSecretsManagerKeyStore } from './secrets-manager-store.ts';

export interface OpenKeyStoreOptions {
  /**
   * AWS region for `aws:` stores.
   * @default - the SDK's default chain
   */
  region?: string;
  /**
   * Secrets Manager client for `aws:` stores (tests pass a mock).
   * @default - a client built for `region`
   */
  client?: SecretsManagerClient;
  /**
   * For `file:` stores: a missing file in an existing directory is an empty store, created on first save.
   * @default false
   */
  create?: boolean;
}

/**
 * Opens `file:PATH` or `aws:SECRET_ID`. `none` is not a store: callers check for it first (auth disabled).
 * @throws KeyStoreError `EP_KEYSTORE_SPEC` for anything else.
 */
export function openKeyStore(spec: string, options: OpenKeyStoreOptions = {}): KeyStore {
  const colon = spec.indexOf(':');
  const kind = colon > 0 ? spec.slice(0, colon) : spec;
  const target = colon > 0 ? spec.slice(colon + 1) : '';
  if (kind === 'file' && target) {
    return createFileKeyStore(
      target,
      options.create === undefined ? {} : { create: options.create },
    );
  }
  if (kind === 'aws' && target) {
    return createSecretsManagerKeyStore(target, {
      ...(options.region ? { region: options.region } : {}),
      ...(options.client ? { client: options.client } : {}),
    });
  }
  throw new KeyStoreError(
    'EP_KEYSTORE_SPEC',
    spec === 'none'
      ? 'key store "none" has no keys: authentication is disabled'
      : `invalid key store "${spec}": use file:PATH or aws:SECRET_ID`,
  );
}
