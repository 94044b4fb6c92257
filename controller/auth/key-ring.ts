/**
 * @module
 * The in-memory key set the request path checks: no I/O per request. It loads the store at start, reloads it
 * every `reloadMs` (so a revoked key stops working within one period) and keeps serving the last good set when
 * the store is unreachable or holds an invalid document.
 *
 * If the very first load fails, `start()` still resolves (the controller boots and reports not ready through
 * `ready`), and the ring retries every `retryMs` until a load succeeds. Until then callers should answer 503,
 * not 401: the presented key is not known to be wrong.
 */
import { timingSafeEqual } from 'node:crypto';
import { hashKeyBytes, parseKey } from './key-format.ts';
import type { KeyLimits, KeyRecord, KeyStoreDocument } from './key-record.ts';
import { SILENT_LOGGER, type AuthLogger } from './logger.ts';
import type { KeyStore } from './stores/key-store.ts';

export interface KeyRingOptions {
  /** Where the keys live. */
  store: KeyStore;
  /**
   * Reload period in ms (config `auth.reloadMs`): the most a revocation takes to apply.
   * @default 30_000
   */
  reloadMs?: number;
  /**
   * Retry period in ms while no key set has been loaded yet.
   * @default - the smaller of 2_000 and `reloadMs`
   */
  retryMs?: number;
  /** @default - a silent logger */
  logger?: AuthLogger;
  /**
   * Clock for `verify` when no `now` is passed (ms since the epoch).
   * @default Date.now
   */
  clock?: () => number;
}

/** Why a presented key was refused. Callers must not tell the client which (one 401 message for all). */
export type VerifyFailureReason = 'malformed' | 'unknown' | 'revoked' | 'expired';

export type VerifyResult =
  | { ok: true; keyId: string; name: string; limits: KeyLimits }
  /** `keyId` is set when the key was well-formed (ids are public; safe to log). */
  | { ok: false; reason: VerifyFailureReason; keyId?: string };

/** Health of the ring, for readiness and metrics. */
export interface KeyRingStatus {
  /** A key set has been loaded at least once. */
  ready: boolean;
  /** Keys in the current set (all states). */
  keys: number;
  /** When the current set was loaded (ms since the epoch). */
  loadedAt?: number;
  /** Failed loads since the last success. */
  consecutiveFailures: number;
  /** Message of the last failed load, if the last attempt failed. */
  lastError?: string;
}

interface Entry {
  record: KeyRecord;
  hash: Buffer;
  expiresAtMs: number;
  graceUntilMs: number;
  revoked: boolean;
  limits: KeyLimits;
}

// Compared against when the id is unknown, so that path does the same work as a wrong secret.
const DUMMY_HASH = Buffer.alloc(32);

export class KeyRing {
  readonly #store: KeyStore;
  readonly #reloadMs: number;
  readonly #retryMs: number;
  readonly #logger: AuthLogger;
  readonly #clock: () => number;
  #entries = new Map<string, Entry>();
  #ready = false;
  #loadedAt: number | undefined;
  #failures = 0;
  #lastError: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #inflight: Promise<boolean> | undefined;
  #running = false;

  constructor(options: KeyRingOptions) {
    const { store, reloadMs = 30_000, logger = SILENT_LOGGER, clock = Date.now } = options;
    const retryMs = options.retryMs ?? Math.min(2_000, reloadMs);
    if (!Number.isFinite(reloadMs) || reloadMs <= 0) {
      throw new RangeError(`reloadMs must be a positive number of ms, got ${reloadMs}`);
    }
    if (!Number.isFinite(retryMs) || retryMs <= 0) {
      throw new RangeError(`retryMs must be a positive number of ms, got ${retryMs}`);
    }
    this.#store = store;
    this.#reloadMs = reloadMs;
    this.#retryMs = retryMs;
    this.#logger = logger;
    this.#clock = clock;
  }

  /**
   * Loads the key set once and starts periodic reloads. Never rejects.
   * @returns whether the first load succeeded (if not, `ready` stays false and loads are retried).
   */
  async start(): Promise<boolean> {
    if (this.#running) return this.#ready;
    this.#running = true;
    const ok = await this.reload();
    this.#schedule();
    return ok;
  }

  /** Stops periodic reloads; the current key set stays usable. */
  stop(): void {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Whether a key set has been loaded (readiness). */
  get ready(): boolean {
    return this.#ready;
  }

  status(): KeyRingStatus {
    return {
      ready: this.#ready,
      keys: this.#entries.size,
      ...(this.#loadedAt === undefined ? {} : { loadedAt: this.#loadedAt }),
      consecutiveFailures: this.#failures,
      ...(this.#lastError === undefined ? {} : { lastError: this.#lastError }),
    };
  }

  /**
   * Loads the store now (concurrent calls share one load). On failure the last good set stays in place.
   * @returns whether the load succeeded.
   */
  reload(): Promise<boolean> {
    this.#inflight ??= this.#load().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  /**
   * Checks a presented key: shape and checksum, lookup by id, constant-time hash comparison, then revocation,
   * expiry and rotation grace. Never does I/O.
   */
  verify(presented: string, now: number = this.#clock()): VerifyResult {
    const parsed = parseKey(presented);
    if (!parsed) return { ok: false, reason: 'malformed' };
    const keyId = parsed.id;
    const entry = this.#entries.get(keyId);
    const presentedHash = hashKeyBytes(presented);
    // Both buffers are 32-byte SHA-256 digests, as timingSafeEqual requires.
    const matches = timingSafeEqual(presentedHash, entry?.hash ?? DUMMY_HASH);
    if (!entry || !matches) return { ok: false, reason: 'unknown', keyId };
    // Status is checked only after the secret matched, so a guesser learns nothing about a key's state.
    if (entry.revoked) return { ok: false, reason: 'revoked', keyId };
    if (now >= entry.expiresAtMs || now >= entry.graceUntilMs) {
      return { ok: false, reason: 'expired', keyId };
    }
    return { ok: true, keyId, name: entry.record.name, limits: entry.limits };
  }

  async #load(): Promise<boolean> {
    let doc: KeyStoreDocument;
    try {
      doc = await this.#store.load();
    } catch (err) {
      this.#failures += 1;
      this.#lastError = (err as Error).message;
      const code = (err as { code?: string }).code;
      this.#logger.warn(
        {
          store: this.#store.description,
          code,
          err: this.#lastError,
          consecutiveFailures: this.#failures,
          keptKeys: this.#entries.size,
        },
        this.#ready
          ? 'key store reload failed; keeping the last good key set'
          : 'key store load failed; no key set yet, API requests get 503 until a load succeeds',
      );
      return false;
    }
    const previous = this.#entries;
    this.#entries = buildEntries(doc.keys);
    const added = [...this.#entries.keys()].filter((id) => !previous.has(id)).length;
    const removed = [...previous.keys()].filter((id) => !this.#entries.has(id)).length;
    // Revocation, rotation and expiry edits keep the id: compare the records themselves.
    const changed = [...this.#entries].filter(([id, entry]) => {
      const before = previous.get(id);
      return before !== undefined && JSON.stringify(before.record) !== JSON.stringify(entry.record);
    }).length;
    const firstLoad = !this.#ready;
    if (firstLoad || this.#failures > 0 || added > 0 || removed > 0 || changed > 0) {
      this.#logger.info(
        { store: this.#store.description, keys: this.#entries.size, added, removed, changed },
        firstLoad ? 'key set loaded' : 'key set reloaded',
      );
    }
    this.#ready = true;
    this.#loadedAt = Date.now();
    this.#failures = 0;
    this.#lastError = undefined;
    return true;
  }

  #schedule(): void {
    if (!this.#running) return;
    const delay = this.#ready ? this.#reloadMs : this.#retryMs;
    this.#timer = setTimeout(() => {
      void this.reload().then(() => this.#schedule());
    }, delay);
    // A reload timer alone must not keep the process alive.
    this.#timer.unref();
  }
}

function buildEntries(records: readonly KeyRecord[]): Map<string, Entry> {
  const entries = new Map<string, Entry>();
  for (const record of records) {
    entries.set(record.id, {
      record,
      hash: Buffer.from(record.hash, 'hex'),
      expiresAtMs: record.expiresAt === undefined ? Infinity : Date.parse(record.expiresAt),
      graceUntilMs: record.graceUntil === undefined ? Infinity : Date.parse(record.graceUntil),
      revoked: record.revokedAt !== undefined,
      limits: record.limits ?? {},
    });
  }
  return entries;
}
