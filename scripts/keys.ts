/**
 * @module
 * Operator CLI for API keys: `npm run keys -- create|list|revoke|rotate …` against a `file:PATH` or
 * `aws:SECRET_ID` store. A new key is printed once and never stored; the store holds only its SHA-256 hash.
 * `runKeysCli` is the whole program with its I/O injected, so tests drive it without a subprocess; the key rules
 * themselves (ids, hashes, rotation, revocation) are `controller/auth/key-admin.ts`.
 */
import { isMainModule } from './lib/main-module.ts';
import { parseArgs } from 'node:util';
import { parseDurationMs, parseInstant } from '../controller/auth/duration.ts';
import { KeyAdmin, KeyAdminError } from '../controller/auth/key-admin.ts';
import { KEY_ID_PATTERN } from '../controller/auth/key-format.ts';
import { keyStatus, type KeyLimits, type KeyRecord } from '../controller/auth/key-record.ts';
import type { KeyStore } from '../controller/auth/stores/key-store.ts';
import {
  openKeyStore,
  type OpenKeyStoreOptions,
} from '../controller/auth/stores/open-key-store.ts';

const USAGE = `Usage: npm run keys -- <command> [options]

Commands:
  create --name NAME [--expires 30d|2027-01-31] [--rpm N] [--tpm N]
                         create a key; prints it ONCE (the store keeps only its hash)
  list                   list keys: id, name, created, expires, status
  revoke ID              revoke a key (it stops working within the controller's reload period)
  rotate ID [--grace 24h] [--expires …] [--name …] [--rpm N] [--tpm N]
                         create a replacement key (same name, limits and lifetime unless given:
                         a key made with --expires 90d is replaced by one that lasts 90 days);
                         the old key keeps working for the grace period, then expires

Options:
  --store SPEC           file:PATH or aws:SECRET_ID (default: $EP_KEY_STORE)
  --region REGION        AWS region of an aws: store (default: the SDK's chain)
  --json                 machine-readable output
  -h, --help             this text

Exit codes: 0 ok, 1 store or key error, 2 usage error.
`;

/** Anything with `write(text)`: process.stdout, a PassThrough in tests. */
export interface TextSink {
  write(text: string): unknown;
}

export interface KeysCliIo {
  /** Results (the new key, the list). */
  out: TextSink;
  /** Errors and hints. */
  err: TextSink;
  /** @default process.env */
  env?: Record<string, string | undefined>;
  /**
   * Clock, ms since the epoch.
   * @default Date.now
   */
  now?: () => number;
  /**
   * Opens the store named by `--store` (tests pass a mocked Secrets Manager client through here).
   * @default openKeyStore
   */
  openStore?: (spec: string, options: OpenKeyStoreOptions) => KeyStore;
}

/** A mistake in the command line (exit code 2, usage printed). */
class UsageError extends Error {}

/**
 * Runs the key CLI with `argv` (arguments after the script name).
 * @returns the process exit code.
 */
export async function runKeysCli(argv: readonly string[], io: KeysCliIo): Promise<number> {
  const env = io.env ?? process.env;
  const now = io.now ?? Date.now;
  const open = io.openStore ?? openKeyStore;
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        store: { type: 'string' },
        region: { type: 'string' },
        name: { type: 'string' },
        expires: { type: 'string' },
        rpm: { type: 'string' },
        tpm: { type: 'string' },
        grace: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    const [command, ...rest] = positionals;
    if (values.help || command === undefined || command === 'help') {
      io.out.write(USAGE);
      return command === undefined && !values.help ? 2 : 0;
    }
    if (!['create', 'list', 'revoke', 'rotate'].includes(command)) {
      throw new UsageError(`unknown command "${command}"`);
    }
    const spec = values.store ?? env.EP_KEY_STORE;
    if (!spec)
      throw new UsageError('--store file:PATH or aws:SECRET_ID is required (or set EP_KEY_STORE)');
    if (spec === 'none')
      throw new UsageError('store "none" holds no keys; use file:PATH or aws:SECRET_ID');

    const store = open(spec, {
      ...(values.region ? { region: values.region } : {}),
      // Only `create` may bring a new key file into existence; the others need an existing store.
      create: command === 'create',
    });
    const admin = new KeyAdmin(store, { clock: now });
    const at = now();
    const out = (text: string) => io.out.write(text);

    switch (command) {
      case 'create': {
        if (rest.length > 0) throw new UsageError('create takes no positional arguments');
        if (!values.name) throw new UsageError('create needs --name');
        const { record, key } = await admin.create({
          name: values.name,
          expiresAt: optionalInstant(values.expires, '--expires', at),
          limits: limitsFrom(values.rpm, values.tpm),
        });
        printNewKey(out, record, key, values.json, `created in ${store.description}`);
        return 0;
      }
      case 'list': {
        if (rest.length > 0) throw new UsageError('list takes no positional arguments');
        printList(out, await admin.list(), at, values.json);
        return 0;
      }
      case 'revoke': {
        const id = requireId(rest, 'revoke');
        const { record, alreadyRevoked } = await admin.revoke(id);
        if (alreadyRevoked) {
          io.err.write(`key ${id} was already revoked at ${record.revokedAt}\n`);
          return 0;
        }
        if (values.json) out(`${JSON.stringify({ id, revokedAt: record.revokedAt })}\n`);
        else out(`revoked key ${id} (${record.name}); controllers drop it at their next reload\n`);
        return 0;
      }
      case 'rotate': {
        const id = requireId(rest, 'rotate');
        const graceMs = parseDurationMs(values.grace ?? '24h');
        if (graceMs === null)
          throw new UsageError(`--grace must be a duration like 24h or 30m, got "${values.grace}"`);
        const { record, key, graceUntil } = await admin.rotate(id, {
          graceMs,
          name: values.name,
          expiresAt: optionalInstant(values.expires, '--expires', at),
          limits: limitsFrom(values.rpm, values.tpm),
        });
        printNewKey(
          out,
          record,
          key,
          values.json,
          `replaces ${id}, which keeps working until ${graceUntil}`,
          { replaces: id, oldGraceUntil: graceUntil },
        );
        return 0;
      }
    }
    return 2;
  } catch (err) {
    if (err instanceof KeyAdminError && err.code === 'INVALID_EXPIRY') {
      io.err.write(`error: --expires: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    if (
      err instanceof UsageError ||
      (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    ) {
      io.err.write(`error: ${(err as Error).message}\n\n${USAGE}`);
      return 2;
    }
    io.err.write(`error: ${(err as Error).message}\n`);
    return 1;
  }
}

function printNewKey(
  out: (text: string) => void,
  record: KeyRecord,
  key: string,
  json: boolean | undefined,
  note: string,
  extra: Record<string, string> = {},
): void {
  if (json) {
    out(
      `${JSON.stringify({ id: record.id, name: record.name, key, createdAt: record.createdAt, expiresAt: record.expiresAt ?? null, limits: record.limits ?? {}, ...extra })}\n`,
    );
    return;
  }
  out(
    [
      `API key ${record.id} (${record.name}) ${note}.`,
      'This is the only time the key is shown; store it now:',
      '',
      `  ${key}`,
      '',
      `id:      ${record.id}`,
      `expires: ${record.expiresAt ?? 'never'}`,
      `limits:  ${describeLimits(record.limits)}`,
      '',
    ].join('\n'),
  );
}

function printList(
  out: (text: string) => void,
  keys: readonly KeyRecord[],
  at: number,
  json: boolean | undefined,
): void {
  const rows = keys.map((k) => ({
    id: k.id,
    name: k.name,
    createdAt: k.createdAt,
    expiresAt: k.expiresAt ?? null,
    status: keyStatus(k, at),
    ...(k.graceUntil ? { graceUntil: k.graceUntil } : {}),
    ...(k.replacedBy ? { replacedBy: k.replacedBy } : {}),
    ...(k.revokedAt ? { revokedAt: k.revokedAt } : {}),
    limits: k.limits ?? {},
  }));
  if (json) {
    out(`${JSON.stringify(rows)}\n`);
    return;
  }
  if (rows.length === 0) {
    out('no keys\n');
    return;
  }
  const table = [
    ['ID', 'NAME', 'CREATED', 'EXPIRES', 'STATUS'],
    ...rows.map((r) => [
      r.id,
      r.name,
      r.createdAt,
      r.expiresAt ?? 'never',
      r.status === 'rotating' ? `rotating until ${r.graceUntil} (new: ${r.replacedBy})` : r.status,
    ]),
  ];
  const widths = table[0]!.map((_, col) => Math.max(...table.map((row) => row[col]!.length)));
  for (const row of table) {
    out(
      `${row.map((cell, col) => (col === row.length - 1 ? cell : cell.padEnd(widths[col]!))).join('  ')}\n`,
    );
  }
}

function describeLimits(limits: KeyLimits | undefined): string {
  const rpm = limits?.requestsPerMinute;
  const tpm = limits?.tokensPerMinute;
  return `${rpm ?? 'default'} requests/min, ${tpm ?? 'default'} tokens/min`;
}

function requireId(rest: readonly string[], command: string): string {
  if (rest.length !== 1) throw new UsageError(`${command} needs exactly one key id`);
  const id = rest[0]!;
  if (!KEY_ID_PATTERN.test(id)) {
    throw new UsageError(`"${id}" is not a key id (12 letters and digits, as shown by list)`);
  }
  return id;
}

function optionalInstant(text: string | undefined, flag: string, at: number): number | undefined {
  if (text === undefined) return undefined;
  const instant = parseInstant(text, at);
  if (instant === null) {
    throw new UsageError(
      `${flag} must be a duration like 30d or an ISO date like 2027-01-31, got "${text}"`,
    );
  }
  return instant;
}

function limitsFrom(rpm: string | undefined, tpm: string | undefined): KeyLimits | undefined {
  if (rpm === undefined && tpm === undefined) return undefined;
  return {
    ...(rpm === undefined ? {} : { requestsPerMinute: positiveInt(rpm, '--rpm') }),
    ...(tpm === undefined ? {} : { tokensPerMinute: positiveInt(tpm, '--tpm') }),
  };
}

function positiveInt(text: string, flag: string): number {
  if (!/^[1-9]\d*$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`${flag} must be a positive integer, got "${text}"`);
  }
  return Number(text);
}

if (isMainModule(import.meta.url)) {
  process.exitCode = await runKeysCli(process.argv.slice(2), {
    out: process.stdout,
    err: process.stderr,
  });
}
