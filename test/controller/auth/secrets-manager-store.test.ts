import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKey } from '../../../controller/auth/key-format.ts';
import { KeyRing } from '../../../controller/auth/key-ring.ts';
import type { KeyStoreDocument } from '../../../controller/auth/key-record.ts';
import { openKeyStore } from '../../../controller/auth/stores/open-key-store.ts';
import { captureLog } from './capture-log.ts';

const SECRET_ID = 'ep/api-keys';

function awsError(name: string, message = name): SecretsManagerServiceException {
  return new SecretsManagerServiceException({
    name,
    message,
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
  });
}

describe('Secrets Manager key store', () => {
  const client = new SecretsManagerClient({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
  });
  const sm = mockClient(client);
  const store = openKeyStore(`aws:${SECRET_ID}`, { client });

  beforeEach(() => sm.reset());
  afterEach(() => sm.reset());

  it('loads the initial document the infrastructure creates', async () => {
    sm.on(GetSecretValueCommand, { SecretId: SECRET_ID }).resolves({
      SecretString: '{"version":1,"keys":[]}',
    });
    expect(await store.load()).toEqual({ version: 1, keys: [] });
    expect(store.description).toBe(`aws:${SECRET_ID}`);
  });

  it('saves the whole document with PutSecretValue, hashes only', async () => {
    sm.on(PutSecretValueCommand).resolves({});
    const { key, id, hash } = generateKey();
    const doc: KeyStoreDocument = {
      version: 1,
      keys: [{ id, name: 'svc', hash, createdAt: '2026-11-28T00:00:00.000Z' }],
    };
    await store.save(doc);
    const calls = sm.commandCalls(PutSecretValueCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]!.args[0].input;
    expect(input.SecretId).toBe(SECRET_ID);
    expect(JSON.parse(input.SecretString!)).toEqual(doc);
    expect(input.SecretString).not.toContain(key);
  });

  it('maps ResourceNotFoundException to EP_KEYSTORE_NOT_FOUND with a hint', async () => {
    sm.on(GetSecretValueCommand).rejects(awsError('ResourceNotFoundException'));
    await expect(store.load()).rejects.toMatchObject({
      code: 'EP_KEYSTORE_NOT_FOUND',
      message: expect.stringMatching(/secret ep\/api-keys does not exist.*region/),
    });
  });

  it('maps AccessDeniedException to EP_KEYSTORE_ACCESS_DENIED, on read and on write', async () => {
    sm.on(GetSecretValueCommand).rejects(awsError('AccessDeniedException'));
    sm.on(PutSecretValueCommand).rejects(awsError('AccessDeniedException'));
    await expect(store.load()).rejects.toMatchObject({
      code: 'EP_KEYSTORE_ACCESS_DENIED',
      message: expect.stringMatching(/not allowed to read .*IAM/),
    });
    await expect(store.save({ version: 1, keys: [] })).rejects.toMatchObject({
      code: 'EP_KEYSTORE_ACCESS_DENIED',
      message: expect.stringMatching(/not allowed to write/),
    });
  });

  it('maps ThrottlingException to EP_KEYSTORE_THROTTLED', async () => {
    sm.on(GetSecretValueCommand).rejects(awsError('ThrottlingException', 'Rate exceeded'));
    await expect(store.load()).rejects.toMatchObject({ code: 'EP_KEYSTORE_THROTTLED' });
  });

  it('maps network failures to EP_KEYSTORE_UNAVAILABLE', async () => {
    sm.on(GetSecretValueCommand).rejects(
      Object.assign(new Error('connect ETIMEDOUT'), { name: 'TimeoutError' }),
    );
    await expect(store.load()).rejects.toMatchObject({
      code: 'EP_KEYSTORE_UNAVAILABLE',
      message: expect.stringMatching(/ETIMEDOUT/),
    });
  });

  it('rejects a binary or malformed secret value', async () => {
    sm.on(GetSecretValueCommand)
      .resolvesOnce({ SecretBinary: new Uint8Array([1]) })
      .resolvesOnce({
        SecretString: '{"keys":"nope"}',
      });
    await expect(store.load()).rejects.toMatchObject({ code: 'EP_KEYSTORE_INVALID' });
    await expect(store.load()).rejects.toMatchObject({ code: 'EP_KEYSTORE_INVALID' });
  });

  it('the key ring keeps the last good set through throttling, access denied and a missing secret', async () => {
    const { key, id, hash } = generateKey();
    const good = JSON.stringify({
      version: 1,
      keys: [{ id, name: 'svc', hash, createdAt: '2026-11-28T00:00:00.000Z' }],
    });
    sm.on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: good })
      .rejectsOnce(awsError('ThrottlingException'))
      .rejectsOnce(awsError('AccessDeniedException'))
      .rejectsOnce(awsError('ResourceNotFoundException'))
      .resolves({ SecretString: '{"version":1,"keys":[]}' });
    const log = captureLog();
    const ring = new KeyRing({ store, reloadMs: 60_000, logger: log.logger });
    expect(await ring.start()).toBe(true);
    ring.stop();
    expect(ring.verify(key).ok).toBe(true);
    for (const code of [
      'EP_KEYSTORE_THROTTLED',
      'EP_KEYSTORE_ACCESS_DENIED',
      'EP_KEYSTORE_NOT_FOUND',
    ]) {
      expect(await ring.reload()).toBe(false);
      expect(ring.verify(key)).toMatchObject({ ok: true, keyId: id });
      expect(ring.status()).toMatchObject({ ready: true, keys: 1 });
      expect(log.entries().at(-1)).toMatchObject({ level: 40, code, keptKeys: 1 });
    }
    expect(ring.status().consecutiveFailures).toBe(3);
    // Once the store answers again, its contents win (here: the key is gone).
    expect(await ring.reload()).toBe(true);
    expect(ring.verify(key)).toMatchObject({ ok: false, reason: 'unknown' });
    expect(log.lines.join('\n')).not.toContain(key);
  });
});
