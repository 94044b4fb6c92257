/**
 * @module
 * A key store in one AWS Secrets Manager secret whose string value is the JSON document
 * (`{"version":1,"keys":[…]}`, created empty by the infrastructure). Reads use `GetSecretValue` (AWSCURRENT).
 *
 * `update` is a compare-and-swap on the AWSCURRENT staging label: it reads the current version's id, writes the
 * changed document as a new version labelled AWSPENDING, then moves AWSCURRENT to it with
 * `UpdateSecretVersionStage(RemoveFromVersionId = the version it read)`. Secrets Manager refuses that move when
 * AWSCURRENT is no longer on that version, i.e. when another writer got there first; the update then starts again
 * from the newer document. (UpdateSecretVersionStage: "If the label is attached and you either do not specify
 * this parameter, or the version ID does not match, then the operation fails",
 * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_UpdateSecretVersionStage.html.)
 * Writers need `secretsmanager:PutSecretValue` and `secretsmanager:UpdateSecretVersionStage`.
 */
import { randomUUID } from 'node:crypto';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { documentToSave, parseDocument } from './store-document.ts';
import { KeyStoreError, type KeyStore } from './key-store.ts';
import { retryConflicts, WriteConflict } from './retry-conflicts.ts';

/** The staging label of a version written but not yet current. */
const PENDING = 'AWSPENDING';

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

  /** The current version: its id and its document. */
  async function readCurrent() {
    let secretString: string | undefined;
    let versionId: string | undefined;
    try {
      // AWSCURRENT is the default, named anyway: the compare-and-swap moves that label, and an emulator (moto 5.2)
      // answers an unlabelled read from the version the secret was created with.
      const out = await getClient().send(
        new GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' }),
      );
      secretString = out.SecretString;
      versionId = out.VersionId;
    } catch (err) {
      throw mapAwsError(err, secretId, 'read');
    }
    if (secretString === undefined) {
      throw new KeyStoreError(
        'EP_KEYSTORE_INVALID',
        `secret ${secretId} has no string value (binary secrets are not key stores)`,
      );
    }
    return { versionId, doc: parseDocument(secretString, description) };
  }

  return {
    description,

    async load() {
      return (await readCurrent()).doc;
    },

    async update(change) {
      return retryConflicts(description, async () => {
        const { versionId, doc } = await readCurrent();
        if (versionId === undefined) {
          throw new KeyStoreError(
            'EP_KEYSTORE_UNAVAILABLE',
            `secret ${secretId}: GetSecretValue returned no VersionId`,
          );
        }
        const result = change(doc);
        const checked = documentToSave(doc, secretId);
        // The token is the new version's id; sending it makes a retried PutSecretValue idempotent.
        const token = randomUUID();
        try {
          await getClient().send(
            new PutSecretValueCommand({
              SecretId: secretId,
              ClientRequestToken: token,
              SecretString: JSON.stringify(checked),
              VersionStages: [PENDING],
            }),
          );
        } catch (err) {
          throw mapAwsError(err, secretId, 'write');
        }
        try {
          await getClient().send(
            new UpdateSecretVersionStageCommand({
              SecretId: secretId,
              VersionStage: 'AWSCURRENT',
              MoveToVersionId: token,
              RemoveFromVersionId: versionId,
            }),
          );
        } catch (err) {
          const name = (err as { name?: string } | undefined)?.name;
          if (name === 'InvalidParameterException' || name === 'InvalidRequestException') {
            throw new WriteConflict(`secret ${secretId} changed since version ${versionId}`);
          }
          throw mapAwsError(err, secretId, 'write');
        }
        // The new version is current; its pending label has no more use. Best effort: it is harmless if left.
        await getClient()
          .send(
            new UpdateSecretVersionStageCommand({
              SecretId: secretId,
              VersionStage: PENDING,
              RemoveFromVersionId: token,
            }),
          )
          .catch(() => undefined);
        return result;
      });
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
