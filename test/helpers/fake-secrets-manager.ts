/**
 * A Secrets Manager secret behind aws-sdk-client-mock with the version semantics key stores rely on: each
 * `PutSecretValue` makes a version (its id is the ClientRequestToken) carrying the staging labels given (default
 * AWSCURRENT), a label is on one version at a time, and `UpdateSecretVersionStage` refuses to move a label that is
 * attached to a version other than `RemoveFromVersionId` (InvalidParameterException), as the service does.
 * Every call may wait a random few ms, so concurrent writers interleave.
 */
import { randomUUID } from 'node:crypto';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  SecretsManagerServiceException,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';

export interface FakeSecret {
  readonly client: SecretsManagerClient;
  /** The client's mock, to script other secrets. */
  readonly mock: ReturnType<typeof mockClient>;
  /** The AWSCURRENT value. */
  current(): string;
  /** Versions written so far. */
  readonly versions: Map<string, { value: string; stages: Set<string> }>;
  restore(): void;
}

const invalid = (message: string) =>
  new SecretsManagerServiceException({
    name: 'InvalidParameterException',
    message,
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
  });

export function fakeSecret(
  secretId: string,
  initial: string,
  options: { jitterMs?: number } = {},
): FakeSecret {
  const client = new SecretsManagerClient({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
  });
  const mock = mockClient(client);
  const versions = new Map<string, { value: string; stages: Set<string> }>();
  versions.set('v0', { value: initial, stages: new Set(['AWSCURRENT']) });
  const jitter = () => new Promise((r) => setTimeout(r, Math.random() * (options.jitterMs ?? 0)));
  const holder = (stage: string) => [...versions].find(([, v]) => v.stages.has(stage))?.[0];
  const label = (stage: string, to: string) => {
    const from = holder(stage);
    if (from !== undefined) versions.get(from)!.stages.delete(stage);
    versions.get(to)!.stages.add(stage);
    if (stage === 'AWSCURRENT' && from !== undefined && from !== to) label('AWSPREVIOUS', from);
  };

  mock.on(GetSecretValueCommand, { SecretId: secretId }).callsFake(async () => {
    await jitter();
    const id = holder('AWSCURRENT')!;
    return { VersionId: id, SecretString: versions.get(id)!.value };
  });
  mock
    .on(PutSecretValueCommand, { SecretId: secretId })
    .callsFake(
      async (input: {
        SecretString: string;
        ClientRequestToken?: string;
        VersionStages?: string[];
      }) => {
        await jitter();
        const id = input.ClientRequestToken ?? randomUUID();
        versions.set(id, { value: input.SecretString, stages: new Set() });
        for (const stage of input.VersionStages ?? ['AWSCURRENT']) label(stage, id);
        return { VersionId: id };
      },
    );
  mock
    .on(UpdateSecretVersionStageCommand, { SecretId: secretId })
    .callsFake(
      async (input: {
        VersionStage: string;
        MoveToVersionId?: string;
        RemoveFromVersionId?: string;
      }) => {
        await jitter();
        const from = holder(input.VersionStage);
        if (input.MoveToVersionId === undefined) {
          if (from !== input.RemoveFromVersionId) throw invalid('the label is not on that version');
          versions.get(from!)!.stages.delete(input.VersionStage);
          return {};
        }
        if (
          from !== undefined &&
          from !== input.MoveToVersionId &&
          from !== input.RemoveFromVersionId
        ) {
          throw invalid(
            `${input.VersionStage} is attached to version ${from}, not ${input.RemoveFromVersionId}`,
          );
        }
        if (!versions.has(input.MoveToVersionId)) throw invalid('no such version');
        label(input.VersionStage, input.MoveToVersionId);
        return {};
      },
    );
  return {
    client,
    mock,
    current: () => versions.get(holder('AWSCURRENT')!)!.value,
    versions,
    restore: () => mock.restore(),
  };
}
