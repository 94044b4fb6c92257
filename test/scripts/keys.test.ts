import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseKey } from '../../controller/auth/key-format.ts';
import { KeyRing } from '../../controller/auth/key-ring.ts';
import { openKeyStore } from '../../controller/auth/stores/open-key-store.ts';
import { createKey, keysCli } from './keys-helpers.ts';

const T0 = Date.parse('2026-11-28T12:00:00.000Z');
const HOUR = 3_600_000;

describe('keys CLI', () => {
  let dir: string;
  let spec: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ep-keys-cli-'));
    spec = `file:${join(dir, 'keys.json')}`;
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('create → list → rotate → revoke against a file store', async () => {
    const now = { t: T0 };
    const io = { now: () => now.t };

    // create: the key is printed once, with its id; the file is created 0600 and holds only the hash.
    const created = await keysCli(
      [
        'create',
        '--store',
        spec,
        '--name',
        'acme',
        '--expires',
        '30d',
        '--rpm',
        '120',
        '--tpm',
        '50000',
      ],
      io,
    );
    expect(created.code).toBe(0);
    const key = /\b(ep_[0-9A-Za-z_]{62})\b/.exec(created.out)?.[1];
    expect(key).toBeDefined();
    const id = parseKey(key!)!.id;
    expect(created.out).toContain(`id:      ${id}`);
    expect(created.out).toMatch(/only time the key is shown/);
    expect(created.out).toContain('expires: 2026-12-28T12:00:00.000Z');
    expect(created.out).toContain('120 requests/min, 50000 tokens/min');
    expect(created.out.split(key!).length - 1).toBe(1);
    const file = await readFile(join(dir, 'keys.json'), 'utf8');
    expect(file).not.toContain(key);
    expect(file).not.toContain(parseKey(key!)!.secret);
    expect((await stat(join(dir, 'keys.json'))).mode & 0o777).toBe(0o600);

    // list: id, name, created, expires, status; never a hash.
    const listed = await keysCli(['list', '--store', spec], io);
    expect(listed.code).toBe(0);
    expect(listed.out).toMatch(/^ID +NAME +CREATED +EXPIRES +STATUS$/m);
    expect(listed.out).toMatch(
      new RegExp(`^${id} +acme +2026-11-28T12:00:00.000Z +2026-12-28T12:00:00.000Z +active$`, 'm'),
    );
    expect(listed.out).not.toMatch(/[0-9a-f]{64}/);

    // rotate: a new key with the same name, limits and lifetime; the old one enters its grace period.
    now.t = T0 + HOUR;
    const rotated = await keysCli(['rotate', id, '--grace', '24h', '--store', spec, '--json'], io);
    expect(rotated.code).toBe(0);
    const next = JSON.parse(rotated.out) as {
      id: string;
      key: string;
      name: string;
      limits: object;
    };
    expect(next).toMatchObject({
      name: 'acme',
      limits: { requestsPerMinute: 120, tokensPerMinute: 50000 },
      replaces: id,
      oldGraceUntil: '2026-11-29T13:00:00.000Z',
    });
    const ring = new KeyRing({ store: openKeyStore(spec) });
    await ring.start();
    ring.stop();
    expect(ring.verify(key!, now.t).ok).toBe(true);
    expect(ring.verify(next.key, now.t).ok).toBe(true);
    expect(ring.verify(key!, T0 + 25 * HOUR)).toMatchObject({ ok: false, reason: 'expired' });

    const afterRotate = JSON.parse((await keysCli(['list', '--store', spec, '--json'], io)).out);
    expect(afterRotate).toEqual([
      expect.objectContaining({
        id,
        status: 'rotating',
        replacedBy: next.id,
        graceUntil: '2026-11-29T13:00:00.000Z',
      }),
      // The replacement lives as long as the original did (30 days), counted from the rotation.
      expect.objectContaining({
        id: next.id,
        status: 'active',
        expiresAt: '2026-12-28T13:00:00.000Z',
      }),
    ]);
    expect(JSON.stringify(afterRotate)).not.toMatch(/hash/);

    // A key being rotated cannot be rotated again.
    const again = await keysCli(['rotate', id, '--store', spec], io);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(new RegExp(`key ${id} is rotating \\(replaced by ${next.id}\\)`));

    // revoke: the old key is revoked at once, even inside its grace period.
    const revoked = await keysCli(['revoke', id, '--store', spec], io);
    expect(revoked.code).toBe(0);
    expect(revoked.out).toMatch(/revoked key/);
    await ring.reload();
    expect(ring.verify(key!, now.t)).toMatchObject({ ok: false, reason: 'revoked' });
    const final = await keysCli(['list', '--store', spec], io);
    expect(final.out).toMatch(new RegExp(`^${id} .* revoked$`, 'm'));
    expect(final.out).toMatch(new RegExp(`^${next.id} .* active$`, 'm'));
    // Revoking twice is harmless.
    expect((await keysCli(['revoke', id, '--store', spec], io)).code).toBe(0);
  });

  it('fails with exit code 1 and a clear message for a missing directory', async () => {
    const missing = `file:${join(dir, 'nope', 'keys.json')}`;
    for (const argv of [
      ['create', '--store', missing, '--name', 'x'],
      ['list', '--store', missing],
      ['revoke', 'AAAAAAAAAAAA', '--store', missing],
    ]) {
      const run = await keysCli(argv);
      expect(run.code).toBe(1);
      expect(run.err).toMatch(/key store directory .*nope does not exist/);
      expect(run.out).toBe('');
    }
  });

  it('fails for a store file that does not exist, except when creating the first key', async () => {
    const run = await keysCli(['list', '--store', spec]);
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/keys\.json does not exist \(create a key to initialize it\)/);
    await createKey(spec, 'first');
    expect((await keysCli(['list', '--store', spec])).code).toBe(0);
  });

  it('fails for unknown ids and explains usage mistakes with exit code 2', async () => {
    await createKey(spec, 'first');
    const unknown = await keysCli(['revoke', 'AAAAAAAAAAAA', '--store', spec]);
    expect(unknown).toMatchObject({
      code: 1,
      err: expect.stringMatching(/no key with id AAAAAAAAAAAA/),
    });
    const cases: Array<[string[], RegExp]> = [
      [['create', '--store', spec], /create needs --name/],
      [
        ['create', '--store', spec, '--name', 'x', '--rpm', '0'],
        /--rpm must be a positive integer/,
      ],
      [
        ['create', '--store', spec, '--name', 'x', '--expires', 'soon'],
        /--expires must be a duration/,
      ],
      [
        ['create', '--store', spec, '--name', 'x', '--expires', '2001-01-01'],
        /must be in the future/,
      ],
      [
        ['rotate', 'AAAAAAAAAAAA', '--store', spec, '--grace', 'a while'],
        /--grace must be a duration/,
      ],
      [['revoke', 'not-an-id', '--store', spec], /is not a key id/],
      [['revoke', '--store', spec], /exactly one key id/],
      [['list'], /--store file:PATH or aws:SECRET_ID is required/],
      [['list', '--store', 'none'], /holds no keys/],
      [['list', '--store', 'ftp:x'], /use file:PATH or aws:SECRET_ID/],
      [['frobnicate', '--store', spec], /unknown command "frobnicate"/],
      [['list', '--bogus'], /Unknown option '--bogus'/],
    ];
    for (const [argv, message] of cases) {
      const run = await keysCli(argv);
      const expected = /use file:PATH/.test(message.source) ? 1 : 2;
      expect(run.code, argv.join(' ')).toBe(expected);
      expect(run.err).toMatch(message);
    }
    expect((await keysCli([])).code).toBe(2);
    const help = await keysCli(['--help']);
    expect(help).toMatchObject({ code: 0, out: expect.stringMatching(/^Usage: npm run keys/) });
  });

  it('reads the store from EP_KEY_STORE when --store is absent', async () => {
    const created = await createKey(spec, 'env', [], {});
    const run = await keysCli(['list'], { env: { EP_KEY_STORE: spec } });
    expect(run.code).toBe(0);
    expect(run.out).toContain(created.id);
  });

  it('manages a Secrets Manager store, and reports a missing secret or denied access', async () => {
    const client = new SecretsManagerClient({
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
    });
    const sm = mockClient(client);
    let secret = '{"version":1,"keys":[]}';
    sm.on(GetSecretValueCommand, { SecretId: 'ep/keys' }).callsFake(() => ({
      SecretString: secret,
    }));
    sm.on(PutSecretValueCommand, { SecretId: 'ep/keys' }).callsFake(
      (input: { SecretString: string }) => {
        secret = input.SecretString;
        return {};
      },
    );
    const error = (name: string) =>
      new SecretsManagerServiceException({ name, message: name, $fault: 'client', $metadata: {} });
    sm.on(GetSecretValueCommand, { SecretId: 'ep/missing' }).rejects(
      error('ResourceNotFoundException'),
    );
    sm.on(GetSecretValueCommand, { SecretId: 'ep/locked' }).resolves({ SecretString: secret });
    sm.on(PutSecretValueCommand, { SecretId: 'ep/locked' }).rejects(error('AccessDeniedException'));
    const io = { openStore: (s: string) => openKeyStore(s, { client }) };

    const created = await createKey('aws:ep/keys', 'cloud', [], io);
    expect(secret).not.toContain(created.key);
    expect(JSON.parse(secret).keys[0].id).toBe(created.id);
    expect((await keysCli(['list', '--store', 'aws:ep/keys'], io)).out).toContain(created.id);

    const missing = await keysCli(
      ['list', '--store', 'aws:ep/missing', '--region', 'eu-west-1'],
      io,
    );
    expect(missing).toMatchObject({
      code: 1,
      err: expect.stringMatching(/secret ep\/missing does not exist/),
    });
    const locked = await keysCli(['create', '--store', 'aws:ep/locked', '--name', 'x'], io);
    expect(locked).toMatchObject({
      code: 1,
      err: expect.stringMatching(/not allowed to write secret ep\/locked/),
    });
    expect(locked.out).toBe('');
    sm.restore();
  });
});
