/**
 * @module
 * Scores already computed, in an LRU bounded by the heap bytes its entries really take. A key names everything
 * the score depends on: a short namespace per model identity (served name, context length, prefix token,
 * scoring parameters), the details flag and the SHA-256 of the text (32 raw bytes as a one-byte string), so the
 * text itself is never kept. Values are compact: three numbers, and the scored tokens as typed arrays and one
 * string rather than an object per token. Only successes are stored; a failure is retried by the next request.
 */
import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { compactRun } from '../scoring/token-run.ts';
import type { ModelTextScore } from './text-score.ts';

/** SHA-256 of a text, as a 32-character one-byte string: the text's part of a cache key. */
export function textDigest(text: string): string {
  return hash('sha256', text, 'binary');
}

/**
 * Heap bytes of the parts of an entry, for V8 on 64-bit Node (no pointer compression), measured by
 * `test/controller/scheduler/result-cache.test.ts` against the heap after a full GC:
 * - per entry: the lru-cache bookkeeping (its Map slot and the key, value, next, prev and size list slots),
 *   the value object and its boxed `nll`;
 * - a string: header, then its characters (one byte each here) rounded up to 8;
 * - a token run: its two objects, its typed-array views and the one ArrayBuffer under them, plus the bytes
 *   themselves (outside the JS heap, still resident).
 */
export const ENTRY_OVERHEAD_BYTES = 140;
const STRING_HEADER_BYTES = 16;
const TYPED_ARRAY_BYTES = 80;
const ARRAY_BUFFER_BYTES = 160;
const RUN_OBJECTS_BYTES = 96;

function stringBytes(s: string): number {
  // Two bytes a character unless every character fits in one (keys do; token texts usually do).
  // eslint-disable-next-line no-control-regex
  const width = /^[\u0000-\u00ff]*$/.test(s) ? 1 : 2;
  return STRING_HEADER_BYTES + Math.ceil((s.length * width) / 8) * 8;
}

/** The bytes an entry takes (key and value), as the budget counts them. */
export function entryBytes(value: ModelTextScore, key: string): number {
  let bytes = ENTRY_OVERHEAD_BYTES + stringBytes(key);
  const run = value.run;
  if (run) {
    const { ids, logprobs, texts } = run;
    const arrays = texts.missing ? 4 : 3;
    bytes += RUN_OBJECTS_BYTES + ARRAY_BUFFER_BYTES + arrays * TYPED_ARRAY_BYTES;
    bytes += ids.byteLength + logprobs.byteLength + texts.starts.byteLength;
    bytes += (texts.missing?.byteLength ?? 0) + stringBytes(texts.joined);
  }
  return bytes;
}

/**
 * What the cache keeps of a score: the figures, and the token run copied out of the backend's answer (a run
 * read from an answer is a view that would keep the whole answer alive).
 */
function compact(score: ModelTextScore): ModelTextScore {
  const { nll, tokens, windows, run } = score;
  if (!run) return { nll, tokens, windows };
  return { nll, tokens, windows, run: compactRun(run) };
}

export class ResultCache {
  readonly #lru: LRUCache<string, ModelTextScore> | undefined;
  readonly #namespaces = new Map<string, string>();

  /** @param maxBytes heap bytes of keys, values and bookkeeping; 0 disables the cache */
  constructor(maxBytes: number) {
    this.#lru =
      maxBytes > 0
        ? new LRUCache<string, ModelTextScore>({ maxSize: maxBytes, sizeCalculation: entryBytes })
        : undefined;
  }

  get enabled(): boolean {
    return this.#lru !== undefined;
  }

  /** Entries and the bytes they take. */
  get stats(): { entries: number; bytes: number } {
    return { entries: this.#lru?.size ?? 0, bytes: this.#lru?.calculatedSize ?? 0 };
  }

  /**
   * The short key prefix standing for a model identity (a few characters instead of the identity in every key).
   * The same identity always gets the same prefix.
   */
  namespace(identity: string): string {
    let ns = this.#namespaces.get(identity);
    if (ns === undefined) {
      ns = `${this.#namespaces.size.toString(36)}:`;
      this.#namespaces.set(identity, ns);
    }
    return ns;
  }

  /** The score under `key` (shared: callers must not change it). */
  get(key: string): ModelTextScore | undefined {
    return this.#lru?.get(key);
  }

  set(key: string, score: ModelTextScore): void {
    this.#lru?.set(key, compact(score));
  }

  /** Drops every entry whose key starts with `prefix` (a model whose backend turned out to be wrong). */
  deletePrefix(prefix: string): void {
    if (!this.#lru) return;
    for (const key of [...this.#lru.keys()]) if (key.startsWith(prefix)) this.#lru.delete(key);
  }
}
