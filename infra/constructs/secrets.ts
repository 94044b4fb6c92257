/**
 * @module
 * Secrets: the Hugging Face token (created empty: the operator sets it with `put-secret-value`, so the token never
 * enters Terraform state) and the API key store (created with an empty key set that `npm run keys` then edits;
 * Terraform ignores later changes to its value). No recovery window, so `cdktf destroy` followed by a deploy under
 * the same name works at once.
 */
import { Construct } from 'constructs';
import { SecretsmanagerSecretVersion } from '@cdktf/provider-aws/lib/secretsmanager-secret-version/index.js';
import { SecretsmanagerSecret } from '@cdktf/provider-aws/lib/secretsmanager-secret/index.js';

/** The key store document with no keys (the format of controller/auth/key-record.ts). */
export const EMPTY_KEY_STORE = JSON.stringify({ version: 1, keys: [] });

export interface SecretsProps {
  /** Prefix of the secret names (`<name>/hf-token`, `<name>/api-keys`). */
  readonly name: string;
  /**
   * Days Secrets Manager keeps a deleted secret; 0 deletes at once (a redeploy can reuse the name).
   * @default 0
   */
  readonly recoveryWindowInDays?: number;
  /**
   * Also create `<name>/dockerhub`, a Docker Hub login (`user:token`) the hosts pull images with.
   * @default false
   */
  readonly dockerHub?: boolean;
}

/** The two secrets a deployment needs. */
export class Secrets extends Construct {
  readonly hfToken: SecretsmanagerSecret;
  readonly apiKeys: SecretsmanagerSecret;
  /** Secret id (name) of the Hugging Face token. */
  readonly hfTokenSecretId: string;
  /** Secret id (name) of the API key store. */
  readonly apiKeySecretId: string;
  /** The Docker Hub login secret (created empty, like the token), when asked for. */
  readonly dockerHub?: SecretsmanagerSecret;
  readonly dockerHubSecretId?: string;

  constructor(scope: Construct, id: string, props: SecretsProps) {
    super(scope, id);
    const recoveryWindowInDays = props.recoveryWindowInDays ?? 0;
    this.hfTokenSecretId = `${props.name}/hf-token`;
    this.apiKeySecretId = `${props.name}/api-keys`;

    this.hfToken = new SecretsmanagerSecret(this, 'hf-token', {
      name: this.hfTokenSecretId,
      description:
        'Hugging Face token for gated models (plain string). Set it with put-secret-value.',
      recoveryWindowInDays,
    });
    this.apiKeys = new SecretsmanagerSecret(this, 'api-keys', {
      name: this.apiKeySecretId,
      description: 'API key store (hashed keys, JSON). Manage it with npm run keys.',
      recoveryWindowInDays,
    });
    if (props.dockerHub) {
      this.dockerHubSecretId = `${props.name}/dockerhub`;
      this.dockerHub = new SecretsmanagerSecret(this, 'dockerhub', {
        name: this.dockerHubSecretId,
        description:
          'Docker Hub login for image pulls, as user:token (a read-only access token). Set it with put-secret-value.',
        recoveryWindowInDays,
      });
    }
    new SecretsmanagerSecretVersion(this, 'api-keys-initial', {
      secretId: this.apiKeys.id,
      secretString: EMPTY_KEY_STORE,
      // The keys CLI owns the value after creation; a redeploy must not wipe the keys.
      lifecycle: { ignoreChanges: ['secret_string'] },
    });
  }
}
