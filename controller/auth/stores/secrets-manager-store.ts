/**
 * @module
 * A key store in one AWS Secrets Manager secret whose string value is the JSON document
 * (`{"version":1,"keys":[…]}`, created empty by the infrastructure). Reads use `GetSecretValue` (AWSCURRENT),
 * writes `PutSecretValue`, which makes the new version current. Two writers at once: the later one wins, so run
 * one key CLI at a time.
 */
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { documentToSave, parseDocument } from './store-document.ts';
import { KeyStoreError, type KeyStore } from './key-store.ts';

export interface SecretsManagerKeyStoreOptions {
  /**
   * AWS region of the secret.
   * @default - the SDK's default chain (AWS_REGION, profile, instance metadata)
   */
  region?: string;
  /**
   * Client to use instead of building one (tests pass a mocked client).
   * @default - a new client for `region`, with a 5 s request timeout and 3 attempts
   */
  client?: SecretsManagerClient;
}

/** Opens a Secrets Manager key store. No request is made until `load` or `save`. */
export function createSecretsManagerKeyStore(
  secretId: string,
  options: SecretsManagerKeyStoreOptions = {},
): KeyStore {
  const description = `aws:${secretId}`;
  let client = options.client;
  // Built lazily so that opening a store for `--help` or in tests never touches the credential chain.
  const getClient = (): SecretsManagerClient =>
    (client ??= new SecretsManagerClient({
      ...(options.region ? { region: options.region } : {}),
      maxAttempts: 3,
      requestHandler: { requestTimeout: 5_000, connectionTimeout: 3_000 },
    }));

  return {
    description,

    async load() {
      let secretString: string | undefined;
      try {
        const out = await getClient().send(new GetSecretValueCommand({ SecretId: secretId }));
        secretString = out.SecretString;
      } catch (err) {
        throw mapAwsError(err, secretId, 'read');
      }
      if (secretString === undefined) {
        throw new KeyStoreError(
          'EP_KEYSTORE_INVALID',
          `secret ${secretId} has no string value (binary secrets are not key stores)`,
        );
      }
      return parseDocument(secretString, description);
    },

    async save(doc) {
      const checked = documentToSave(doc, secretId);
      try {
        await getClient().send(
          new PutSecretValueCommand({
            SecretId: secretId,
            SecretString: JSON.stringify(checked),
          }),
        );
      } catch (err) {
        throw mapAwsError(err, secretId, 'write');
      }
    },
  };
}

/** Turns an SDK error into a `KeyStoreError` whose message says what to check. */
function mapAwsError(err: unknown, secretId: string, verb: 'read' | 'write'): KeyStoreError {
  const name = (err as { name?: string } | undefined)?.name ?? '';
  const detail = (err as Error | undefined)?.message ?? String(err);
  switch (name) {
    case 'ResourceNotFoundException':
      return new KeyStoreError(
        'EP_KEYSTORE_NOT_FOUND',
        `secret ${secretId} does not exist (check the secret id and --region)`,
        { cause: err },
      );
    case 'AccessDeniedException':
    case 'AccessDenied':
    case 'UnrecognizedClientException':
    case 'DecryptionFailure':
      return new KeyStoreError(
        'EP_KEYSTORE_ACCESS_DENIED',
        `not allowed to ${verb} secret ${secretId} (${name}): check the IAM policy and the KMS key policy`,
        { cause: err },
      );
    case 'ThrottlingException':
    case 'TooManyRequestsException':
    case 'LimitExceededException':
      return new KeyStoreError(
        'EP_KEYSTORE_THROTTLED',
        `Secrets Manager throttled the ${verb} of secret ${secretId}; retry later`,
        { cause: err },
      );
    default:
      return new KeyStoreError(
        'EP_KEYSTORE_UNAVAILABLE',
        `cannot ${verb} secret ${secretId}: ${name ? `${name}: ` : ''}${detail}`,
        { cause: err },
      );
  }
}
